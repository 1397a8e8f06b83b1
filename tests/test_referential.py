from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scanner_agent.attestation import RocReason
from scanner_agent.errors import ConfigError
from scanner_agent.referential import AmcEntry, Referential, parse_referential
from scanner_agent.rollout import PHASE_REASONS
from tests.helpers.samples import CONFIG


def test_shipped_file_is_marked_illustrative():
    text = (CONFIG / "amc_referential.csv").read_text()
    assert "ILLUSTRATIVE" in text.splitlines()[0]
    assert all("fictive" in e.name for e in parse_referential(text))


def test_leading_zeros_do_not_matter():
    ref = Referential(
        parse_referential("amc_number,name,roc,updated\n0434243085,X,oui,2026-02-03\n")
    )
    assert ref.lookup("434243085").status == "roc"
    assert ref.lookup("0434243085").name == "X"
    assert ref.lookup("00434243085").status == "roc"
    assert ref.get("434243085").updated == date(2026, 2, 3)


def test_roc_flags_and_unknown():
    ref = Referential(parse_referential("amc_number,name,roc\n11111111,A,no\n22222222,B,TRUE\n"))
    assert ref.lookup("11111111").status == "hors_roc"
    assert ref.lookup("22222222").status == "roc"
    assert ref.lookup("33333333").status == "unknown"
    assert ref.lookup(None).status == "unknown"


def test_columns_in_any_order_with_comments_and_bom(tmp_path: Path):
    path = tmp_path / "ref.csv"
    path.write_text('\ufeff# comment\nname,roc,amc_number\n"Mutuelle, Test",yes,12345678\n')
    ref = Referential.load(path)
    assert ref.lookup("12345678").name == "Mutuelle, Test"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("amc,name\n1,A\n", "header"),
        ("amc_number,name,roc\n12AB,A,yes\n", "line 2: amc_number"),
        ("amc_number,name,roc\n12\u00b3,A,yes\n", "line 2: amc_number"),  # superscript 3
        ("amc_number,name,roc\n\u0661\u0662\u0663,A,yes\n", "line 2: amc_number"),  # Arabic-Indic
        ("# c\namc_number,name,roc\n1234,A,maybe\n", "line 3: roc"),
        ("amc_number,name,roc,updated\n1234,A,yes,31/12/2026\n", "updated"),
    ],
)
def test_bad_files_name_the_line(tmp_path: Path, text, message):
    path = tmp_path / "ref.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        Referential.load(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        Referential.load(tmp_path / "none.csv")


# --- the guide's questions: at a date, for an activity ----------------------------------------

HEADER = "amc_number,name,roc,updated,roc_from,roc_to,domains,gap_codes,test\n"


def referential(*lines: str) -> Referential:
    return Referential(parse_referential(HEADER + "".join(line + "\n" for line in lines)))


def test_each_roc_reason():
    ref = referential(
        "11111111,Never,no,2026-01-01,,,,N1;N2,",
        "22222222,Window,yes,2026-01-01,2026-04-01,2026-06-30,MCO;SMR,W1,",
    )
    never = ref.lookup("11111111", date(2026, 5, 1), "MCO")
    assert (never.status, never.reason) == ("hors_roc", "not_connected")
    assert never.gap_codes == ["N1", "N2"]  # the codes of the non-ROC circuit
    assert never.name == "Never" and never.domain == "MCO"
    asked = {
        (date(2026, 3, 31), "MCO"): ("hors_roc", "not_yet_connected"),
        (date(2026, 4, 1), "MCO"): ("roc", None),
        (date(2026, 6, 30), "SMR"): ("roc", None),
        (date(2026, 5, 1), "PSY"): ("hors_roc", "domain_not_in_roc"),
        (date(2026, 5, 1), "had"): ("hors_roc", "domain_not_in_roc"),
        (date(2026, 7, 1), "MCO"): ("hors_roc", "connection_ended"),
    }
    for (at, domain), expected in asked.items():
        roc = ref.lookup("22222222", at, domain)
        assert (roc.status, roc.reason) == expected, (at, domain)
        assert roc.gap_codes == ["W1"] and roc.name == "Window" and roc.domain == domain
    unknown = ref.lookup("33333333", date(2026, 5, 1), "SMR")
    assert (unknown.status, unknown.reason, unknown.domain) == ("unknown", None, "SMR")


def test_roc_no_is_not_connected_whatever_its_dates_and_domains():
    ref = referential("11111111,A,no,,2026-01-01,2026-01-31,SMR,,")
    for at in (date(2025, 1, 1), date(2026, 1, 15), date(2027, 1, 1)):
        for domain in ("MCO", "SMR"):
            assert ref.lookup("11111111", at, domain).reason == "not_connected"


def test_a_history_answers_from_the_line_of_the_date_and_the_nearest_one_between():
    ref = referential(
        "0434243085,Old name,no,2025-12-01,,2025-12-31,,OLD,",
        "434243085,New name,yes,2026-02-01,2026-01-01,2026-03-31,,NEW,",
        "0434243085,New name,yes,2026-02-01,2026-05-01,2026-08-31,MCO,NEW;NEW2,",
        "434243085,New name,no,2026-02-01,2026-10-01,2026-10-31,,,",
        "434243085,New name,yes,2026-02-01,2026-12-01,,,LAST,",
    )
    assert len(ref) == 1 and ref.lines == 5
    assert ref.updated == date(2026, 2, 1)

    def answer(day: date, domain: str = "MCO") -> tuple[str, str | None, str | None, list[str]]:
        roc = ref.lookup("434243085", day, domain)
        return roc.status, roc.reason, roc.name, roc.gap_codes

    assert answer(date(2025, 6, 1)) == ("hors_roc", "not_connected", "Old name", ["OLD"])
    assert answer(date(2026, 1, 1)) == ("roc", None, "New name", ["NEW"])
    # between two connected periods: the first one ended
    assert answer(date(2026, 4, 15)) == ("hors_roc", "connection_ended", "New name", ["NEW"])
    assert answer(date(2026, 5, 1)) == ("roc", None, "New name", ["NEW", "NEW2"])
    assert answer(date(2026, 5, 1), "SMR")[1] == "domain_not_in_roc"
    # after a connected period, before a `roc=no` line: the connection ended
    assert answer(date(2026, 9, 15))[1] == "connection_ended"
    assert answer(date(2026, 10, 15))[1] == "not_connected"
    # after a `roc=no` line, before a connected one: not yet connected (from the next line)
    assert answer(date(2026, 11, 15)) == ("hors_roc", "not_yet_connected", "New name", ["LAST"])
    assert answer(date(2030, 1, 1)) == ("roc", None, "New name", ["LAST"])
    assert ref.get("0434243085", date(2026, 5, 2)).gap_codes == ("NEW", "NEW2")
    assert ref.get("434243085").roc_from == date(2026, 12, 1)  # without a date: the latest
    assert [e.line for e in ref.history("434243085")] == [2, 3, 4, 5, 6]


def test_a_history_starting_connected_is_not_yet_connected_before_and_not_connected_between():
    ref = referential(
        "11111111,A,yes,,2026-03-01,2026-03-31,,,",
        "11111111,A,no,,2026-06-01,2026-06-30,,,",
        "11111111,A,no,,2026-09-01,2026-09-30,,,",
    )
    assert ref.lookup("11111111", date(2026, 1, 1), "MCO").reason == "not_yet_connected"
    assert ref.lookup("11111111", date(2026, 7, 15), "MCO").reason == "not_connected"
    assert ref.lookup("11111111", date(2027, 1, 1), "MCO").reason == "not_connected"


def test_the_test_amc_and_its_gap_codes_reach_the_answer_even_hors_roc():
    ref = referential("999999990,Mirror,yes,,2026-01-01,2026-01-31,,TEST,yes")
    inside = ref.lookup("999999990", date(2026, 1, 10), "MCO")
    after = ref.lookup("999999990", date(2026, 2, 10), "MCO")
    assert (inside.status, inside.test, inside.gap_codes) == ("roc", True, ["TEST"])
    assert (after.status, after.reason, after.test, after.gap_codes) == (
        "hors_roc",
        "connection_ended",
        True,
        ["TEST"],
    )
    assert referential("1,A,yes,,,,,,").lookup("1", date(2026, 1, 1), "MCO").test is False


@pytest.mark.parametrize("value", ["yes", "Oui", "TRUE", "1", "y"])
def test_test_accepts_the_values_of_roc(value):
    assert referential(f"1,A,yes,,,,,,{value}").get("1").test is True


def test_old_four_column_files_load_unchanged(tmp_path: Path):
    path = tmp_path / "old.csv"
    path.write_text(
        "# an extract from before the new columns\n"
        "amc_number,name,roc,updated\n"
        "0775627391,A,yes,2026-01-01\n774734488,B,no,2026-02-01\n"
    )
    ref = Referential.load(path)
    assert (len(ref), ref.lines, ref.updated) == (2, 2, date(2026, 2, 1))
    for day in (date(2000, 1, 1), date(2026, 3, 1), date(2100, 1, 1)):
        for domain in ("MCO", "SMR", "PSY", "HAD"):
            assert ref.lookup("775627391", day, domain).status == "roc"
            assert ref.lookup("774734488", day, domain).reason == "not_connected"
    assert ref.lookup("775627391", date(2026, 3, 1), "MCO").gap_codes == []


def test_the_shipped_file_shows_every_column_and_reason():
    ref = Referential.load(CONFIG / "amc_referential.csv")
    text = (CONFIG / "amc_referential.csv").read_text()
    assert HEADER.strip() in text.splitlines()
    reasons = {
        ref.lookup(e.amc_number, date(2026, 5, 1), domain).reason
        for lines in ref
        for e in lines
        for domain in ("MCO", "SMR")
    }
    assert reasons == {None, *RocReason} - set(PHASE_REASONS)  # the others come from a phase
    test_amcs = [lines[0].amc_number for lines in ref if lines[0].test]
    assert test_amcs == ["999999990"]
    assert any(len(lines) > 1 for lines in ref)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        # two open periods, the same period twice, a period inside another
        (["1,A,yes,,,,,,", "1,A,yes,,,,,,"], r"lines 2 and 3: AMC 1 has two lines"),
        (
            ["0012,A,yes,,2026-01-01,2026-06-30,,,", "12,A,no,,2026-06-30,,,,"],
            r"lines 2 and 3: .*overlapping periods \(2026-01-01..2026-06-30 and 2026-06-30..\)",
        ),
        (
            ["5,A,yes,,2026-01-01,,,,", "6,X,no,,,,,,", "5,Other,no,,2026-03-01,2026-03-02,,,"],
            r"lines 2 and 4: .*names 'A' and 'Other'",
        ),
        (["7,A,yes,,,2025-12-31,,,", "7,A,yes,,2026-01-01,,,,yes"], r"lines 2 and 3: .*test"),
        (["1,A,yes,,2026-02-01,2026-01-01,,,"], r"line 2: roc_to 2026-01-01 is before roc_from"),
        (["1,A,yes,,01/01/2026,,,,"], r"line 2: roc_from '01/01/2026' is not a date"),
        (["1,A,yes,,,2026-13-01,,,"], r"line 2: roc_to"),
        (["1,A,yes,,,,MCO;URG,,"], r"line 2: domains 'URG' not among MCO;SMR;PSY;HAD"),
        (["1,A,yes,,,,,,maybe"], r"line 2: test must be yes or no"),
    ],
)
def test_overlapping_and_bad_lines_fail_naming_the_file_and_lines(tmp_path: Path, lines, message):
    path = tmp_path / "ref.csv"
    path.write_text(HEADER + "".join(line + "\n" for line in lines))
    with pytest.raises(ConfigError, match=message) as info:
        Referential.load(path)
    assert str(info.value).startswith(f"{path}, line")


def test_lines_that_do_not_overlap_by_one_day_are_a_history():
    ref = referential("1,A,yes,,,2025-12-31,,,", "1,B,no,,2026-01-01,,,,")
    assert ref.lookup("1", date(2025, 12, 31), "MCO").name == "A"
    assert ref.lookup("1", date(2026, 1, 1), "MCO").name == "B"


def test_age_counts_from_the_newest_updated_date_and_never_below_zero():
    ref = Referential(
        [
            AmcEntry("1", "A", True, date(2026, 1, 1)),
            AmcEntry("2", "B", True, date(2026, 3, 1)),
        ]
    )
    assert ref.updated == date(2026, 3, 1)
    assert ref.age_days(date(2026, 3, 31)) == 30
    assert ref.age_days(date(2026, 2, 1)) == 0  # dated after the day asked: not stale
    assert not ref.is_stale(date(2026, 5, 30), 90) and ref.is_stale(date(2026, 5, 31), 90)
    assert Referential([AmcEntry("1", "A", True, None)]).age_days(date(2026, 3, 1)) is None
