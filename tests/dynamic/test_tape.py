"""Reading the headline and the reason a run stopped off the tape."""

from __future__ import annotations

from auditor.dynamic.tape import TapeView


def _log(i: int, text: str) -> dict:
    return {"i": i, "kind": "LOG", "text": text, "line": 10 + i}


def test_an_exact_reprint_without_val_loss_takes_it_from_its_own_pass() -> None:
    view = TapeView([
        _log(0, "diagnostic quantized val_loss:2.5000 val_bpb:3.1111"),
        _log(1, "final_roundtrip val_loss:2.4000 val_bpb:3.0000 eval:120ms"),
        _log(2, "final_roundtrip_exact val_bpb:3.00001234"),
    ])
    rep = view.reported()
    assert (rep.event, rep.val_loss, rep.val_bpb, rep.loss_decimals, rep.bpb_decimals) == (2, 2.4, 3.00001234, 4, 8)


def test_no_val_loss_anywhere_for_that_bpb_stays_unknown() -> None:
    view = TapeView([_log(0, "pre val_loss:2.5000 val_bpb:3.1111"), _log(1, "final_exact val_bpb:3.00001234")])
    rep = view.reported()
    assert (rep.val_loss, rep.loss_decimals) == (None, 0)


def test_a_crash_in_native_code_names_the_signal_and_the_build() -> None:
    from types import SimpleNamespace

    from auditor.dynamic.runner import _blocked

    view = TapeView([{"i": 0, "kind": "SUBPROC", "argv": "('g++', ['g++', 'k.cpp'])", "line": 3}])
    run = SimpleNamespace(killed=None, exception=None, rc=-11)
    assert _blocked(run, view, None) == ("the script was killed by SIGSEGV before finishing "
                                         "(after building native code: ('g++', ['g++', 'k.cpp']))")
    assert _blocked(SimpleNamespace(killed=None, exception=None, rc=3), TapeView([]), None) == \
        "the script exited with status 3 before finishing"
