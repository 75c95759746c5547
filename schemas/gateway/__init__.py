"""WSDL and XSD files of the e-government gateway's SyncChannel v10 and AsyncChannel v10."""
