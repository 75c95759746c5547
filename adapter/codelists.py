"""Code lists: violation types and protocols, with Kazakh, Russian and English names.

The order fixes no code list of violation types. The built-in list follows the
categories of the authorised body's public complaint form and paragraph 1 of
Article 41-1 of the Law "On Communications". A deployment may extend it with
``codelists.violation_types_file`` (a TOML file of ``[[violation_type]]``
tables with ``code``, ``kk``, ``ru``, ``en``). The code ``other`` takes a free
text description instead of a name.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "OTHER",
    "PROTOCOLS",
    "VIOLATION_TYPES",
    "CodeListEntry",
    "load_violation_types",
    "protocol_codes",
]

OTHER = "other"


@dataclass(frozen=True, slots=True)
class CodeListEntry:
    """One code with its names in Kazakh, Russian and English."""

    code: str
    kk: str
    ru: str
    en: str

    def name(self, language: str) -> str:
        """Return the name in ``language`` (``kk``, ``ru`` or ``en``)."""
        return {"kk": self.kk, "ru": self.ru}.get(language, self.en)


_VIOLATION_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("suicide-propaganda", "Суицидті насихаттау", "Пропаганда суицида", "Suicide propaganda"),
    ("drug-propaganda", "Есірткі құралдарын және психотроптық заттарды насихаттау", "Пропаганда наркотических средств и психотропных веществ", "Propaganda of narcotic drugs and psychotropic substances"),
    ("cruelty-violence", "Қатыгездік пен зорлық-зомбылық культін насихаттау", "Пропаганда культа жестокости и насилия", "Propaganda of the cult of cruelty and violence"),
    ("pornography", "Порнография", "Порнография", "Pornography"),
    ("unlawful-campaigning", "Заңсыз сайлау үгіті", "Незаконная предвыборная агитация", "Unlawful election campaigning"),
    ("constitutional-order", "Конституциялық құрылысты күштеп өзгертуге шақыру", "Призывы к насильственному изменению конституционного строя", "Calls for violent change of the constitutional order"),
    ("territorial-integrity", "Республиканың тұтастығын бұзу", "Нарушение целостности Республики", "Violation of the integrity of the Republic"),
    ("extremism-terrorism", "Экстремизмді немесе терроризмді насихаттау", "Пропаганда экстремизма или терроризма", "Extremism or terrorism propaganda"),
    ("ethnic-religious-hatred", "Ұлтаралық немесе діни араздықты қоздыру", "Разжигание межнациональной или религиозной розни", "Incitement of ethnic or religious hatred"),
    ("mass-riots", "Жаппай тәртіпсіздіктерге немесе рұқсат етілмеген жаппай іс-шараларға шақыру", "Призывы к массовым беспорядкам или несанкционированным массовым мероприятиям", "Calls to mass riots or unauthorised mass events"),
    ("child-sexual-abuse", "Кәмелетке толмағандарды жыныстық қанау және балалар порнографиясы", "Сексуальная эксплуатация несовершеннолетних и детская порнография", "Sexual exploitation of minors and child pornography"),
    ("child-cyberbullying", "Балаға қатысты кибербуллинг", "Кибербуллинг в отношении ребенка", "Cyberbullying of a child"),
    ("online-casino", "Онлайн-казино және лицензиясыз құмар ойындар", "Онлайн-казино и нелицензированные азартные игры", "Online casino and unlicensed gambling"),
    ("financial-pyramid", "Қаржылық пирамидалар", "Финансовые пирамиды", "Financial pyramids"),
    ("unfair-advertising", "Жосықсыз немесе дәйексіз жарнама", "Недобросовестная или недостоверная реклама", "Unfair or unreliable advertising"),
    ("unauthorised-broadcasting", "Рұқсат етілмеген теле- немесе радиоарналар", "Несанкционированные теле- или радиоканалы", "Unauthorised TV or radio channels"),
    (OTHER, "Өзге", "Иное", "Other"),
)

VIOLATION_TYPES: Mapping[str, CodeListEntry] = {row[0]: CodeListEntry(*row) for row in _VIOLATION_ROWS}

_PROTOCOL_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("HTTP", "HTTP", "HTTP", "HTTP"),
    ("HTTPS", "HTTPS", "HTTPS", "HTTPS"),
    ("FTP", "FTP", "FTP", "FTP"),
    ("FTPS", "FTPS", "FTPS", "FTPS"),
    ("SFTP", "SFTP", "SFTP", "SFTP"),
    ("SSH", "SSH", "SSH", "SSH"),
    ("TELNET", "Telnet", "Telnet", "Telnet"),
    ("SMTP", "SMTP", "SMTP", "SMTP"),
    ("POP3", "POP3", "POP3", "POP3"),
    ("IMAP", "IMAP", "IMAP", "IMAP"),
    ("DNS", "DNS", "DNS", "DNS"),
    ("DOH", "DNS over HTTPS", "DNS over HTTPS", "DNS over HTTPS"),
    ("DOT", "DNS over TLS", "DNS over TLS", "DNS over TLS"),
    ("QUIC", "QUIC", "QUIC", "QUIC"),
    ("RTMP", "RTMP", "RTMP", "RTMP"),
    ("RTSP", "RTSP", "RTSP", "RTSP"),
    ("SIP", "SIP", "SIP", "SIP"),
    ("XMPP", "XMPP", "XMPP", "XMPP"),
    ("MQTT", "MQTT", "MQTT", "MQTT"),
    ("BITTORRENT", "BitTorrent", "BitTorrent", "BitTorrent"),
    ("TOR", "Tor", "Tor", "Tor"),
    ("TCP", "TCP", "TCP", "TCP"),
    ("UDP", "UDP", "UDP", "UDP"),
    ("OTHER", "Өзге", "Иной", "Other"),
)

PROTOCOLS: Mapping[str, CodeListEntry] = {row[0]: CodeListEntry(*row) for row in _PROTOCOL_ROWS}


def protocol_codes() -> tuple[str, ...]:
    """Return the protocol codes in their list order."""
    return tuple(PROTOCOLS)


def load_violation_types(extra_file: Path | None = None) -> Mapping[str, CodeListEntry]:
    """Return the built-in violation types, extended by ``extra_file`` when given.

    Raises :class:`~adapter.errors.ConfigError` naming the file and entry
    when the file is unreadable, an entry lacks a name, or a code is reused.
    """
    from .errors import ConfigError
    from .i18n import N_

    if extra_file is None:
        return VIOLATION_TYPES
    try:
        with Path(extra_file).open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            N_("cannot read the violation type list {path}: {reason}; fix documents.violation_types_file"),
            key="documents.violation_types_file",
            path=str(extra_file),
            reason=str(exc),
        ) from exc
    merged = dict(VIOLATION_TYPES)
    for index, row in enumerate(data.get("violation_type", []), start=1):
        missing = [key for key in ("code", "kk", "ru", "en") if not str(row.get(key, "")).strip()]
        if missing:
            raise ConfigError(
                N_("{path}: violation_type #{index} lacks {missing}; give code, kk, ru and en"),
                key="documents.violation_types_file",
                path=str(extra_file),
                index=index,
                missing=", ".join(missing),
            )
        code = str(row["code"]).strip()
        if code in merged:
            raise ConfigError(
                N_("{path}: violation_type #{index} reuses the code {code!r}; choose a new code"),
                key="documents.violation_types_file",
                path=str(extra_file),
                index=index,
                code=code,
            )
        merged[code] = CodeListEntry(code, row["kk"], row["ru"], row["en"])
    return merged
