"""`stepgrad example` prints exactly what the files under tests/golden/ hold, byte for byte.

The golden files were written before the worked examples became lesson data, and every
restructuring since had to leave them unchanged. Regenerate them only for a deliberate change of
wording (``python -m tests.golden.make_goldens``) and read the diff.
"""

from __future__ import annotations

import pytest

from tests.golden.make_goldens import CASES, GRAPHS, HERE, graph_listing, run


@pytest.mark.parametrize("file_name, argv, answers", CASES, ids=[c[0] for c in CASES])
def test_example_output_is_byte_identical_to_the_golden_file(file_name, argv, answers):
    expected = (HERE / file_name).read_text(encoding="utf-8")
    assert run(argv, answers) == expected


@pytest.mark.parametrize("file_name, name", GRAPHS, ids=[g[0] for g in GRAPHS])
def test_built_in_graph_is_node_for_node_the_golden_one(file_name, name):
    # Same nodes, labels, ops, values, gradients and wiring: drawings and traces stay as they were.
    assert graph_listing(name) == (HERE / file_name).read_text(encoding="utf-8")
