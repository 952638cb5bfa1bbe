"""Printed numbers named in the lesson's words (nn/printed.py, nn/spec.py, viz/sheet.py).

Every symbol the sheet shows for a quantity (``E``, ``∂E/∂w5``, ``δ_o1``, ``w5 (new)``), its
plain-ASCII spelling (``dE/dw5``) and the internal name (``dL/dw5``) name the same printed number;
an unknown name lists the valid ones. Values are the hand computation of
``tests/test_diagnosis.by_hand`` (plain ``math``).
"""

from __future__ import annotations

import copy
import math

import pytest

from nn.printed import ASCII_SPELLING
from tests.test_diagnosis import W0, by_hand, spec
from viz.explain import explain
from viz.report import render_text, shown_beside


def forms_of_every_quantity():
    explanation = explain(spec(), steps=0)
    for q in explanation.quantities:
        for form in {q.name, q.symbol, q.symbol.translate(ASCII_SPELLING)}:
            yield q.name, form


HAND, _, _ = by_hand(W0)


@pytest.mark.parametrize(("name", "form"), sorted(set(forms_of_every_quantity())))
def test_every_symbol_the_sheet_shows_names_a_printed_number(name, form):
    if name not in HAND:
        pytest.skip(f"{name} has no hand value here")  # every quantity of this net has one
    lesson = spec()
    lesson["printed"] = [{"name": form, "value": f"{HAND[name]:.9f}"}]
    (c,) = explain(lesson, steps=0).printed_comparisons
    assert c.name == name and c.kind == "match"


def test_every_quantity_of_the_sheet_has_a_hand_value_so_no_case_above_is_skipped():
    names = {q.name for q in explain(spec(), steps=0).quantities}
    assert names <= set(HAND), names - set(HAND)


def test_book_spellings_w5_plus_and_spaces_name_the_new_weight():
    lesson = spec()
    lesson["printed"] = [
        {"name": "w5+", "value": f"{HAND['w5 (updated)']:.8f}"},
        {"name": "w1(new)", "value": f"{HAND['w1 (updated)']:.9f}"},
        {"name": "∂E / ∂w5", "value": f"{HAND['dL/dw5']:.9f}"},
    ]
    comparisons = explain(lesson, steps=0).printed_comparisons
    assert {c.name for c in comparisons} == {"w5 (updated)", "w1 (updated)", "dL/dw5"}
    assert all(c.kind == "match" for c in comparisons)


def test_a_number_after_training_is_named_by_its_symbol_too():
    lesson = spec()
    w, b = dict(W0), (0.35, 0.60)
    _, w, b = by_hand(w, b)
    after, _, _ = by_hand(w, b)
    lesson["printed"] = [{"name": "E", "value": f"{after['loss']:.9f}", "after": 1}]
    (c,) = explain(lesson, steps=0).printed_comparisons
    assert c.name == "loss" and c.after == 1 and c.kind == "match"


def test_an_unknown_name_lists_the_valid_ones_in_the_sheets_words(capsys, tmp_path):
    lesson = spec()
    lesson["printed"] = [{"name": "E_o9", "value": "0.1"}]
    with pytest.raises(ValueError) as error:
        explain(lesson, steps=0)
    message = str(error.value)
    assert "'E_o9' is not a quantity" in message
    assert "its quantities are: net_h1, net_h2," in message
    assert "∂E/∂w5" in message and "w5 (new)" in message and "dL/dw5" not in message


def test_the_list_of_valid_names_is_bounded():
    lesson = spec()
    lesson["layers"][0]["weights"] = [[0.1, 0.2]] * 20  # 20 hidden units: many quantities
    del lesson["layers"][0]["symbols"]
    lesson["layers"][1]["weights"] = [[0.1] * 20, [0.2] * 20]
    del lesson["layers"][1]["symbols"]
    lesson["printed"] = [{"name": "nothing", "value": "0.1"}]
    with pytest.raises(ValueError) as error:
        explain(lesson, steps=0)
    assert "more)" in str(error.value) and len(str(error.value)) < 1500


# ---------------------------------------------------------------------------------------------
# Per-output loss terms and the learning rate's symbol
# ---------------------------------------------------------------------------------------------


def with_terms() -> dict:
    lesson = spec()
    lesson["loss"]["terms"] = ["E_o1", "E_o2"]
    return lesson


def test_named_loss_terms_are_on_the_sheet_with_their_values():
    shown = {q.name: q for q in explain(with_terms(), steps=0).quantities}
    o1, o2 = HAND["out_o1"], HAND["out_o2"]
    assert shown["E_o1"].value == pytest.approx(0.5 * (0.01 - o1) ** 2, rel=1e-12)
    assert shown["E_o2"].value == pytest.approx(0.5 * (0.99 - o2) ** 2, rel=1e-12)
    assert shown["E_o1"].formula == "½·(t1 − out_o1)²"
    assert shown["E_o1"].section == shown["loss"].section == "Loss"
    # the published walkthrough's figures
    assert f"{shown['E_o1'].value:.9f}" == "0.274811083"
    assert f"{shown['E_o2'].value:.9f}" == "0.023560026"


def test_loss_terms_can_be_printed_and_checked():
    lesson = with_terms()
    lesson["printed"] = [{"name": "E_o1", "value": "0.274811083"},
                         {"name": "E_o2", "value": "0.023560027"}]  # fmt: skip
    first, second = explain(lesson, steps=0).printed_comparisons
    assert first.kind == "match" and second.mismatch


@pytest.mark.parametrize(
    ("terms", "problem"),
    [(["E_o1"], "list of 2 symbols"), (["E_o1", "t1"], "already used"), ("E", "list of 2")],
)
def test_bad_loss_terms_name_the_field(terms, problem):
    from nn.spec import SpecError, parse_spec

    lesson = with_terms()
    lesson["loss"]["terms"] = terms
    with pytest.raises(SpecError) as error:
        parse_spec(lesson)
    assert "loss.terms" in str(error.value) and problem in str(error.value)


def test_the_learning_rate_takes_the_books_symbol():
    lesson = spec()
    lesson["learning_rate_symbol"] = "l"
    explanation = explain(lesson, steps=1)
    text = render_text(explanation)
    assert "  l = 0.5 (learning rate)" in text
    assert "Update (l = 0.5)" in text
    assert "w5 (new) = w5 − l·∂E/∂w5" in text
    assert "η" not in text


# ---------------------------------------------------------------------------------------------
# Digits of a mismatch, and the first-error summary after training
# ---------------------------------------------------------------------------------------------


def test_a_misprint_in_the_seventh_digit_is_visible():
    lesson = spec()
    true = HAND["out_o1"]  # 0.751365069...
    misprint = f"{true + 1e-7:.9f}"  # the 7th decimal one off
    assert f"{float(misprint):.6g}" == f"{true:.6g}"  # six digits would hide it
    lesson["printed"] = [{"name": "out_o1", "value": misprint}]
    text = render_text(explain(lesson, steps=0))
    assert f"✗ printed {misprint} (wrong arithmetic): σ(net_o1) = {true:.11f}" in text


def test_shown_beside_keeps_short_values_short_and_lengthens_hidden_differences():
    assert shown_beside(0.41, "0.31") == "0.41"
    assert shown_beside(0.29102777369359933, "0.291027924") == "0.29102777369"
    assert shown_beside(-0.0574505, "-0.05") == "−0.0574505"


def test_the_summary_after_training_does_not_claim_later_numbers_are_built_on_it():
    lesson = copy.deepcopy(spec())
    lesson["printed"] = [
        {"name": "E", "value": f"{HAND['loss']:.9f}"},
        {"name": "E", "value": "0.291027924", "after": 1},
    ]
    text = render_text(explain(lesson, steps=1))
    assert "built on it" not in text
    assert "The first error is E after 1 update: the source prints 0.291027924" in text
    assert math.isclose(float("0.291027924"), 0.2910279, rel_tol=1e-6)
