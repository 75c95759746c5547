"""XSD and WSDL files of edms-adapter, shipped as package data.

The files are the contract: documents (notification, roster), the EDMS
document card and receipts, and the gateway's SyncChannel and AsyncChannel
shapes.
"""

from importlib import resources
from pathlib import Path

__all__ = ["schema_path"]


def schema_path(name: str) -> Path:
    """Return the filesystem path of a bundled schema file, such as ``"notification.xsd"``."""
    path = Path(str(resources.files(__name__).joinpath(name)))
    if not path.is_file():
        raise FileNotFoundError(f"schema file {name!r} is not bundled with edms-adapter")
    return path
