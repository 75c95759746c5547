"""Signatory policy: who may sign a notification and a staff roster."""

from __future__ import annotations

import pytest

from adapter.errors import SignatoryPolicyError
from adapter.model import SignatoryRole
from signing.certificates import describe_certificate
from signing.policy import check_signatory, enforce_signatory, names_agree
from signing.settings import SignatoryList, SigningSettings
from signing_support import notification, notification_for, roster_for


def _codes(problems) -> list[str]:
    return [problem.code for problem in problems]


def _info(identity):
    return describe_certificate(identity.certificate)


def test_head_may_sign_notification(test_pki):
    assert check_signatory(notification_for(test_pki.head), _info(test_pki.head)) == ()


def test_deputy_may_sign_notification(test_pki):
    document = notification_for(test_pki.deputy, role=SignatoryRole.DEPUTY)
    assert check_signatory(document, _info(test_pki.deputy)) == ()


def test_employee_may_not_sign_notification(test_pki):
    document = notification_for(test_pki.employee, role=SignatoryRole.HEAD)
    assert _codes(check_signatory(document, _info(test_pki.employee))) == ["head-or-deputy"]


def test_individual_may_not_sign_notification(test_pki):
    document = notification_for(test_pki.individual, sender_bin=test_pki.sender_bin)
    assert _codes(check_signatory(document, _info(test_pki.individual))) == ["employee-certificate", "head-or-deputy"]


def test_authentication_certificate_may_not_sign(test_pki):
    assert _codes(check_signatory(notification_for(test_pki.auth_only), _info(test_pki.auth_only))) == ["signing-certificate"]


def test_other_organisation_head_is_refused(test_pki):
    document = notification_for(test_pki.other_org_head, sender_bin=test_pki.sender_bin)
    problems = check_signatory(document, _info(test_pki.other_org_head))
    assert _codes(problems) == ["bin-mismatch"]
    assert problems[0].params["document_bin"] == test_pki.sender_bin


def test_missing_sender_bin_is_refused(test_pki):
    document = notification(sender_bin=None, full_name=test_pki.head.full_name, iin=test_pki.head.iin)
    assert _codes(check_signatory(document, _info(test_pki.head))) == ["sender-bin"]


def test_iin_must_match_signatory(test_pki):
    document = notification(sender_bin=test_pki.sender_bin, full_name=test_pki.head.full_name, iin=test_pki.deputy.iin)
    problems = check_signatory(document, _info(test_pki.head))
    assert _codes(problems) == ["iin-mismatch"]
    # IINs are personal data: the message shows them masked.
    assert test_pki.deputy.iin not in problems[0].localized()


def test_name_must_match_certificate(test_pki):
    document = notification(sender_bin=test_pki.sender_bin, full_name="СЫНАҚОВА ӘЙГЕРІМ БОЛАТҚЫЗЫ", iin=test_pki.head.iin)
    assert _codes(check_signatory(document, _info(test_pki.head))) == ["name-mismatch"]


def test_name_tolerates_case_and_order(test_pki):
    surname, first, patronymic = test_pki.head.full_name.split()
    written = f"{first.capitalize()} {patronymic.lower()} {surname.title()}"
    document = notification(sender_bin=test_pki.sender_bin, full_name=written, iin=test_pki.head.iin)
    assert check_signatory(document, _info(test_pki.head)) == ()


@pytest.mark.parametrize(
    ("written", "certificate", "agree"),
    [
        ("Пётр Сергеев", "СЕРГЕЕВ ПЕТР", True),
        ("СЕРГЕЕВ  ПЁТР", "Сергеев Петр", True),
        ("Айгерим Сынакова", "СЫНАҚОВА ӘЙГЕРІМ", False),
        ("Сынақова Әйгерім", "СЫНАҚОВА ӘЙГЕРІМ", True),
        ("Сергеев Петр", "СЕРГЕЕВ ПЕТР ИВАНОВИЧ", False),
    ],
)
def test_names_agree(written, certificate, agree):
    assert names_agree(written, certificate) is agree


def test_employee_role_is_not_allowed_on_notification(test_pki):
    document = notification_for(test_pki.head, role=SignatoryRole.EMPLOYEE)
    assert _codes(check_signatory(document, _info(test_pki.head))) == ["role-not-allowed"]


def test_role_must_agree_with_certificate(test_pki):
    as_deputy = notification_for(test_pki.head, role=SignatoryRole.DEPUTY)
    assert _codes(check_signatory(as_deputy, _info(test_pki.head))) == ["role-mismatch"]
    as_head = notification_for(test_pki.deputy, role=SignatoryRole.HEAD)
    assert _codes(check_signatory(as_head, _info(test_pki.deputy))) == ["role-mismatch"]


def _listed(test_pki, *, heads=(), deputies=()) -> SigningSettings:
    return SigningSettings(signatories=(SignatoryList(test_pki.sender_bin, tuple(heads), tuple(deputies)),))


def test_signatory_list_decides_roles(test_pki):
    settings = _listed(test_pki, heads=[test_pki.head.iin], deputies=[test_pki.deputy.iin])
    assert check_signatory(notification_for(test_pki.head), _info(test_pki.head), settings) == ()
    deputy = notification_for(test_pki.deputy, role=SignatoryRole.DEPUTY)
    assert check_signatory(deputy, _info(test_pki.deputy), settings) == ()
    wrong_role = notification_for(test_pki.deputy, role=SignatoryRole.HEAD)
    assert _codes(check_signatory(wrong_role, _info(test_pki.deputy), settings)) == ["role-mismatch"]


def test_signatory_list_overrides_certificate_role(test_pki):
    # The list names the deputy as head (an acting head): the list decides.
    settings = _listed(test_pki, heads=[test_pki.deputy.iin])
    document = notification_for(test_pki.deputy, role=SignatoryRole.HEAD)
    assert check_signatory(document, _info(test_pki.deputy), settings) == ()


def test_unlisted_signer_is_refused(test_pki):
    settings = _listed(test_pki, heads=[test_pki.head.iin])
    document = notification_for(test_pki.deputy, role=SignatoryRole.DEPUTY)
    assert _codes(check_signatory(document, _info(test_pki.deputy), settings)) == ["signatory-list"]


def test_listed_employee_still_needs_signing_rights(test_pki):
    settings = _listed(test_pki, deputies=[test_pki.employee.iin])
    document = notification_for(test_pki.employee, role=SignatoryRole.DEPUTY)
    assert _codes(check_signatory(document, _info(test_pki.employee), settings)) == ["head-or-deputy"]


def test_list_of_another_organisation_does_not_apply(test_pki):
    settings = SigningSettings(signatories=(SignatoryList("110740004565", (), ()),))
    assert check_signatory(notification_for(test_pki.head), _info(test_pki.head), settings) == ()


def test_employee_may_sign_roster(test_pki):
    assert check_signatory(roster_for(test_pki.employee), _info(test_pki.employee)) == ()


def test_roster_needs_employee_of_sender(test_pki):
    individual = roster_for(test_pki.individual, sender_bin=test_pki.sender_bin)
    assert _codes(check_signatory(individual, _info(test_pki.individual))) == ["employee-certificate"]
    other = roster_for(test_pki.other_org_head, sender_bin=test_pki.sender_bin)
    assert _codes(check_signatory(other, _info(test_pki.other_org_head))) == ["bin-mismatch"]


def test_enforce_raises_with_rule(test_pki):
    with pytest.raises(SignatoryPolicyError) as caught:
        enforce_signatory(notification_for(test_pki.employee), _info(test_pki.employee))
    assert caught.value.rule == "head-or-deputy"
    assert "head or a deputy head must sign" in str(caught.value)
