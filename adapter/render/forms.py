"""Wording of the Appendix 1 and Appendix 2 forms in Kazakh, Russian and English.

The Kazakh text is the wording of the forms in order No. 159-НҚ of 7 April
2026 of the acting Minister of Culture and Information, which restates the
Rules of interaction of state bodies on compliance with the legislation of the
Republic of Kazakhstan in telecommunication networks. The order exists here in
Kazakh only. The Russian text is a working translation and the English text a
reference translation: a rendering in either carries a visible notice saying
so (see :data:`OFFICIAL_FORM_LANGUAGES`).

The form wording lives here and not in the gettext catalogs because it is
legal text fixed per edition of the rules. A short English message id cannot
key it: the two forms use different Kazakh words for the same English label
(``тұлға`` and ``адам``). Labels that the product adds (the facts table
columns, the signature block, page footers) are gettext messages of the
``render`` catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["FORM_LANGUAGES", "OFFICIAL_FORM_LANGUAGES", "form_text"]

#: Languages a form renders in.
FORM_LANGUAGES: tuple[str, ...] = ("kk", "ru", "en")

#: Languages whose form text is the official wording of the order. Add "ru"
#: when the official Russian text replaces the working translation below.
OFFICIAL_FORM_LANGUAGES: frozenset[str] = frozenset({"kk"})

# The Appendix 1 preamble names the system that receives the records: an
# "information system" in the 2026-04 edition and a "digital system" from the
# 2026-07-12 edition. The Appendix 2 form reads the same in both editions.
_SYSTEM_BY_EDITION: Mapping[str, str] = MappingProxyType({"2026-04": "information", "2026-07-12": "digital"})

_RULES_KK = (
    "Телекоммуникациялар желілерінде Қазақстан Республикасы заңнамасының талаптарын сақтау мәселелері "
    "бойынша мемлекеттік органдардың өзара іс-қимыл жасасу қағидаларына"
)
_RULES_RU = (
    "к Правилам взаимодействия государственных органов по вопросам соблюдения требований "
    "законодательства Республики Казахстан в сетях телекоммуникаций"
)
_RULES_EN = (
    "to the Rules of interaction of state bodies on compliance with the legislation "
    "of the Republic of Kazakhstan in telecommunication networks"
)

_PREAMBLE_OPENING_KK = (
    "\"Байланыс туралы\" Қазақстан Республикасы Заңының 41-1-бабының 1-1-тармағына сәйкес бекітілген "
    "Телекоммуникациялар желілерінде Қазақстан Республикасы заңнамасының талаптарын сақтау мәселелері "
    "бойынша мемлекеттік органдардың өзара іс-қимыл жасасу қағидаларына сәйкес, "
)
_PREAMBLE_OPENING_RU = (
    "В соответствии с Правилами взаимодействия государственных органов по вопросам соблюдения требований "
    "законодательства Республики Казахстан в сетях телекоммуникаций, утвержденными согласно пункту 1-1 "
    "статьи 41-1 Закона Республики Казахстан «О связи», "
)
_PREAMBLE_OPENING_EN = (
    "In accordance with the Rules of interaction of state bodies on compliance with the legislation of the "
    "Republic of Kazakhstan in telecommunication networks, approved under paragraph 1-1 of Article 41-1 of "
    "the Law of the Republic of Kazakhstan \"On Communications\", "
)

_ROSTER_PREAMBLE_KK = (
    _PREAMBLE_OPENING_KK
    + "масс-медиа, телекоммуникация желілерінде немесе онлайн-платформаларда таралатын құқыққа қайшы "
    "контентті анықтау және есепке алу және осындай контенті бар интернет-ресурстар мен сілтемелерді "
    "{system} енгізу құзыретіне кіретін қызметкерлер туралы мәліметтерді жолдаймыз."
)
_ROSTER_PREAMBLE_RU = (
    _PREAMBLE_OPENING_RU
    + "направляем сведения о работниках, в компетенцию которых входят выявление и учет противоправного "
    "контента, распространяемого в масс-медиа, сетях телекоммуникаций или на онлайн-платформах, и внесение "
    "интернет-ресурсов и ссылок, содержащих такой контент, в {system}."
)
_ROSTER_PREAMBLE_EN = (
    _PREAMBLE_OPENING_EN
    + "we send information about the employees whose competence includes identifying and recording "
    "unlawful content distributed in mass media, telecommunication networks or on online platforms, and "
    "entering internet resources and links that contain such content into the {system}."
)

_SYSTEM_NAMES: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "kk": {"information": "ақпараттық жүйеге", "digital": "цифрлық жүйеге"},
    "ru": {"information": "информационную систему", "digital": "цифровую систему"},
    "en": {"information": "information system", "digital": "digital system"},
})

_TEXT: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "kk": {
        "notification.appendix": _RULES_KK + " 2-қосымша",
        "roster.appendix": _RULES_KK + " 1-қосымша",
        "form": "Нысан",
        "recipient_caption": "(Уәкілетті органның атауы)",
        "title": "Хабарлама",
        "notification.preamble": (
            _PREAMBLE_OPENING_KK
            + "Қазақстан Республикасының заңдарымен және (немесе) заңды күшіне енген сот шешімдерімен таратуға "
            "тыйым салынған ақпарат туралы мәліметтерді жолдаймыз."
        ),
        "notification.item1": "Бұзушылық түрі",
        "notification.item2": "Қазақстан Республикасы заңнамалық актісінің нормасы",
        "notification.item3": (
            "Қазақстан Республикасының заңнамасын бұзудың анықталған фактілерінің тізбесі (деректерді беру "
            "желісінде мекенжайлар, (IP-мекенжай) және (немесе) домендік атау және (немесе) интернет-ресурстың "
            "және (немесе) оның интернет-парағының сәйкестендіргіші көрсетіледі), деректерді беру желісінің "
            "интернет-ресурсы пайдаланатын хаттаманың түрі, сәйкестендіру, абоненттік құрылғының кодтары "
            "(Құрылғының MAC мекенжайы, IMEI-байланыс құралының коды):"
        ),
        "notification.attestation": "Осы хабарламада көрсетілген мәліметтердің заңдылығы мен негізділігін растаймын.",
        "notification.official": "Уәкілетті лауазымды тұлға",
        "notification.position_caption": "лауазымы",
        "roster.official": "Уәкілетті лауазымды адам",
        "roster.position_caption": "лауазым",
        "signature_caption": "(қолы)",
        "name_caption": "(тегі, аты, әкесінің аты (ол болған жағдайда))",
        "notification.note": (
            "Ескертпе: жолдардың саны хабарламаға енгізілетін Қазақстан Республикасының заңнамасын бұзудың "
            "анықталған фактілерінің санына байланысты болады."
        ),
        "roster.number": "№ р/с",
        "roster.full_name": "Тегі, аты, әкесінің аты (ол болған жағдайда)",
        "roster.work_email": "Жұмыс электрондық поштасы",
        "roster.mobile_phone": "Ұялы телефон",
    },
    "ru": {
        "notification.appendix": "Приложение 2 " + _RULES_RU,
        "roster.appendix": "Приложение 1 " + _RULES_RU,
        "form": "Форма",
        "recipient_caption": "(Наименование уполномоченного органа)",
        "title": "Уведомление",
        "notification.preamble": (
            _PREAMBLE_OPENING_RU
            + "направляем сведения об информации, распространение которой запрещено законами Республики "
            "Казахстан и (или) вступившими в законную силу решениями суда."
        ),
        "notification.item1": "Вид нарушения",
        "notification.item2": "Норма законодательного акта Республики Казахстан",
        "notification.item3": (
            "Перечень выявленных фактов нарушения законодательства Республики Казахстан (указываются адреса "
            "в сети передачи данных (IP-адрес) и (или) доменное имя и (или) идентификатор интернет-ресурса и "
            "(или) его интернет-страницы), вид протокола, используемого интернет-ресурсом сети передачи данных, "
            "идентификация, коды абонентского устройства (MAC-адрес устройства, IMEI-код средства связи):"
        ),
        "notification.attestation": "Подтверждаю законность и обоснованность сведений, указанных в настоящем уведомлении.",
        "notification.official": "Уполномоченное должностное лицо",
        "notification.position_caption": "должность",
        "roster.official": "Уполномоченное должностное лицо",
        "roster.position_caption": "должность",
        "signature_caption": "(подпись)",
        "name_caption": "(фамилия, имя, отчество (при его наличии))",
        "notification.note": (
            "Примечание: количество строк зависит от количества выявленных фактов нарушения законодательства "
            "Республики Казахстан, включаемых в уведомление."
        ),
        "roster.number": "№ п/п",
        "roster.full_name": "Фамилия, имя, отчество (при его наличии)",
        "roster.work_email": "Рабочая электронная почта",
        "roster.mobile_phone": "Мобильный телефон",
    },
    "en": {
        "notification.appendix": "Appendix 2 " + _RULES_EN,
        "roster.appendix": "Appendix 1 " + _RULES_EN,
        "form": "Form",
        "recipient_caption": "(Name of the authorised body)",
        "title": "Notification",
        "notification.preamble": (
            _PREAMBLE_OPENING_EN
            + "we send information about information whose distribution is prohibited by the laws of the "
            "Republic of Kazakhstan and (or) by court decisions that have entered into legal force."
        ),
        "notification.item1": "Type of violation",
        "notification.item2": "Norm of the legislative act of the Republic of Kazakhstan",
        "notification.item3": (
            "List of identified facts of violation of the legislation of the Republic of Kazakhstan (addresses "
            "in the data network (IP address) and (or) domain name and (or) identifier of the internet resource "
            "and (or) its internet page), type of protocol used by the internet resource of the data network, "
            "identification, subscriber device codes (MAC address of the device, IMEI code of the means of "
            "communication):"
        ),
        "notification.attestation": "I confirm the legality and validity of the information stated in this notification.",
        "notification.official": "Authorised official",
        "notification.position_caption": "position",
        "roster.official": "Authorised official",
        "roster.position_caption": "position",
        "signature_caption": "(signature)",
        "name_caption": "(surname, first name, patronymic (if any))",
        "notification.note": (
            "Note: the number of lines depends on the number of identified facts of violation of the "
            "legislation of the Republic of Kazakhstan included in the notification."
        ),
        "roster.number": "No.",
        "roster.full_name": "Surname, first name, patronymic (if any)",
        "roster.work_email": "Work e-mail",
        "roster.mobile_phone": "Mobile phone",
    },
})

_ROSTER_PREAMBLES: Mapping[str, str] = MappingProxyType(
    {"kk": _ROSTER_PREAMBLE_KK, "ru": _ROSTER_PREAMBLE_RU, "en": _ROSTER_PREAMBLE_EN}
)


def form_text(language: str, edition: str) -> Mapping[str, str]:
    """Return the form wording in ``language`` for the rules ``edition``.

    Keys are the ones in this module (``title``, ``notification.item1``,
    ``roster.preamble``, ...). An edition id this module does not know gets
    the wording of the latest edition, because the receiver of a document
    checks the edition id itself and the text of the latest edition is the
    one in force.
    """
    if language not in _TEXT:
        raise ValueError(f"unsupported form language {language!r}: use one of {', '.join(FORM_LANGUAGES)}")
    system = _SYSTEM_BY_EDITION.get(edition, "digital")
    text = dict(_TEXT[language])
    text["roster.preamble"] = _ROSTER_PREAMBLES[language].format(system=_SYSTEM_NAMES[language][system])
    return MappingProxyType(text)
