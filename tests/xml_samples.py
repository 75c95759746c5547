"""Sample notifications and rosters for the XML tests, built directly from the model."""

from __future__ import annotations

import datetime as dt

from adapter.model import (
    DocumentHeader,
    Employee,
    Evidence,
    Fact,
    Language,
    Notification,
    Organisation,
    Roster,
    Signatory,
    SignatoryRole,
    Violation,
)

SENDER = Organisation(
    "Қазақстан Республикасы Қаржылық мониторинг агенттігі",
    "Агентство Республики Казахстан по финансовому мониторингу",
    "050340001235",
)
RECIPIENT = Organisation(
    "Қазақстан Республикасы Мәдениет және ақпарат министрлігі",
    "Министерство культуры и информации Республики Казахстан",
)
HEAD = Signatory("Төраға", "Тестов Асылбек Нұрланұлы", "780412300516", SignatoryRole.HEAD)


def header(number: str = "04-2-15/1187", language: Language = Language.KK) -> DocumentHeader:
    return DocumentHeader(number, dt.date(2026, 11, 20), language, "2026-07-12", SENDER, RECIPIENT)


VARIED_FACTS = (
    Fact(1, "HTTPS", ip="203.0.113.17", domain="jackpot-sultan.kz", url="https://jackpot-sultan.kz/ru/slots?promo=welcome&x=<1>", description="Онлайн-казино: «слоттар» & бонус"),
    Fact(2, "HTTP", domain="xn--80ahoqdq7e.xn--80ao21a", description="IDN домен: ойындар.қаз"),
    Fact(3, "HTTPS", ip="2001:db8::17", url="https://[2001:db8::17]/casino"),
    Fact(4, "BITTORRENT", ip="198.51.100.4", mac="00-1A-2B-3C-4D-5E", imei="490154203237518"),
    Fact(5, "OTHER", url="rtmp://stream.example.kz/live", description="  көп жолды\r\nсипаттама\tқойындымен  "),
    Fact(6, "HTTPS", ip="::ffff:203.0.113.9", domain="xn--e1afmkfd.xn--p1ai"),
)


def notification(facts: tuple[Fact, ...] = VARIED_FACTS, *, violation: Violation | None = None) -> Notification:
    return Notification(
        header=header(),
        violation=violation or Violation("online-casino", "«Байланыс туралы» Заңның 41-1-бабының 1-тармағы", "Лицензиясыз онлайн-казино"),
        facts=facts,
        signatory=HEAD,
        evidence=(
            Evidence(1, "jackpot-sultan.png", "image/png", 48213, "9f" * 32, 1),
            Evidence(2, "есеп.pdf", "application/pdf", 102400, "0123456789abcdef" * 4),
        ),
    )


def many_facts(count: int) -> tuple[Fact, ...]:
    """Return ``count`` facts with IDN domains, IPv4/IPv6, MACs and IMEIs mixed."""
    facts = []
    for number in range(1, count + 1):
        facts.append(
            Fact(
                number,
                "HTTPS" if number % 2 else "HTTP",
                ip=f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}" if number % 3 else f"2001:db8::{number & 0xFFFF:x}",
                domain=f"casino{number}.xn--80ao21a",
                url=f"https://casino{number}.xn--80ao21a/slots/{number}",
                mac="AA-BB-CC-DD-EE-FF" if number % 7 == 0 else None,
                imei="490154203237518" if number % 11 == 0 else None,
            )
        )
    return tuple(facts)


def roster() -> Roster:
    return Roster(
        header=header("04-2-15/1190", Language.RU),
        employees=(
            Employee(1, "Үлгиев Дәурен Саматұлы", "d.ulgiev@example.gov.kz", "+7 701 555 01 23"),
            Employee(2, "Ахметова Айгерім Болатқызы", "a.akhmetova@мысал.қаз", "+7 701 555 12 34"),
        ),
        signatory=Signatory("Бөлім басшысы", "Сейітов Ерлан", "850101300125", SignatoryRole.EMPLOYEE),
    )
