"""The TLM executor's own command decoding (sim/tlm/executor.py) against the reference
model's decoder (gic.sim.models.commands.decode_command), on random commands of every
GICv3 layout and on unknown command numbers. The executor's cycles are checked against
the RTL's figures in tests/test_tlm.py (it needs the other blocks to run)."""

import random

import pytest

from gic.hw.its.recipes import RECIPES
from gic.hw.its.layouts import COMMAND_LAYOUTS, CmdError
from gic.sim.models.commands import command_fields, decode_command, encode_command, field_width
from gic.sim.tlm.executor import _RECIPES, _Command, _decode_command


@pytest.mark.parametrize("cmd", list(COMMAND_LAYOUTS))
def test_commands_decode_as_the_reference_model_decodes_them(cmd):
    rng = random.Random(cmd.value)
    layout = COMMAND_LAYOUTS[cmd]
    for _ in range(20):
        fields = {name: rng.getrandbits(field_width(layout, name))
                  for name in command_fields(cmd)}
        raw = encode_command(cmd, **fields)
        got_cmd, got_fields = _decode_command(raw)
        want = decode_command(raw)
        assert got_cmd is want.cmd is cmd
        assert got_fields == want.fields == fields


@pytest.mark.parametrize("number", [0x00, 0x02, 0x21, 0x77, 0xFF])
def test_unknown_command_numbers_have_no_fields(number):
    raw = encode_command(number, device_id=5)
    assert _decode_command(raw) == (None, {})
    assert _RECIPES.get(None) is None           # so the executor fails UNSUPPORTED_COMMAND


def test_a_command_s_defaults_and_its_recipe():
    cmd = next(iter(COMMAND_LAYOUTS))
    command = _Command(_RECIPES[cmd], {"device_id": 7})
    assert (command.device_id, command.event_id, command.icid) == (7, 0, 0)
    assert (command.itt_addr, command.size) == (0, 0)
    assert set(_RECIPES) == set(RECIPES)
    for cmd, recipe in _RECIPES.items():
        assert recipe.device_oor == RECIPES[cmd].device_oor
        assert isinstance(recipe.device_oor, CmdError)
