"""Writes the record folders under ``tests/rulings/records/`` (run it to regenerate them; the files
are committed so a reader can open each case). Every script, log and number here is made up by us,
in the shapes the challenge's logs print; none is copied from a submission.

    PYTHONPATH=. python tests/rulings/make_fixtures.py
"""

from __future__ import annotations

import base64
import json
import lzma
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "records"
RECORD = "track_10min_16mb"
NON_RECORD = "track_non_record_16mb"

#: a tiny entry script: nothing for the static rules to report
SCRIPT = (
    'import os\n'
    '\n'
    'import torch\n'
    '\n'
    '\n'
    'def main():\n'
    '    seed = int(os.environ.get("SEED", "1337"))\n'
    '    torch.manual_seed(seed)\n'
    '    print(f"seed:{seed}")\n'
    '\n'
    '\n'
    'if __name__ == "__main__":\n'
    '    main()\n'
)
CODE = len(SCRIPT.encode())
#: a previous-token mixer with no mask at document starts (C1-d), in our own words
SMEAR_SCRIPT = (
    'import torch\n'
    '\n'
    '\n'
    'class Smear(torch.nn.Module):\n'
    '    def __init__(self, dim):\n'
    '        super().__init__()\n'
    '        self.gate = torch.nn.Parameter(torch.zeros(dim))\n'
    '\n'
    '    def forward(self, x):\n'
    '        g = torch.sigmoid(self.gate)\n'
    '        return torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1]], dim=1)\n'
)


def sliding_log(seed: int, bpb: float, loss: float, *, model: int = 15_850_000, code: int = CODE,
                train_ms: int = 599_940, val_tokens: int = 62_021_632) -> str:
    """The sliding-window dialect (sp1024): seed line, loader line, stop line, sizes, two evaluators."""
    return "\n".join([
        f"seed:{seed}",
        "world_size:8 grad_accum_steps:1",
        "train_seq_len:1024 eval_seq_len:1024",
        f"val_loader:shards pattern=./data/datasets/fineweb10B_sp1024/fineweb_val_*.bin tokens:{val_tokens}",
        f"step:7000/20000 val_loss:1.9800 val_bpb:1.1700 train_time:{train_ms}ms step_avg:85.71ms",
        f"stopping_early: wallclock_cap train_time:{train_ms}ms step:7000/20000",
        f"Code size: {code} bytes",
        f"Serialized model int6+zstd: {model} bytes",
        f"Total submission size int6+zstd: {model + code} bytes",
        f"final_int6_roundtrip val_loss:{loss + 0.05:.4f} val_bpb:{bpb + 0.03:.4f} eval_time:1500ms",
        f"final_int6_roundtrip_exact val_loss:{loss + 0.05:.8f} val_bpb:{bpb + 0.03:.8f}",
        f"final_int6_sliding_window val_loss:{loss:.4f} val_bpb:{bpb:.4f} stride:64 eval_time:72611ms",
        f"final_int6_sliding_window_exact val_loss:{loss:.8f} val_bpb:{bpb:.8f}",
        "",
    ])


def phased_log(seed: int, bpb: float, loss: float, *, model: int = 15_900_000, code: int = 28_100,
               train_ms: int = 596_000, hessians_s: float = 3.4, reserve_s: int = 4,
               val_tokens: int = 47_851_520) -> str:
    """The later dialect (sp8192 CaseOps): hyperparameter dump, GPTQ reserve and Hessians after the
    loop, the compressed code size, phased TTT."""
    return "\n".join([
        "Hyperparameters:",
        "  caseops_enabled: True",
        f"  seed: {seed}",
        "  tokenizer_path: ./data/tokenizers/fineweb_8192_bpe_lossless_caps_caseops_v1_reserved.model",
        "  vocab_size: 8192",
        "  world_size: 8",
        "  train_seq_len: 2048",
        "  eval_seq_len: 2048",
        f"val_tokens: {val_tokens}",
        f"gptq:reserving {reserve_s}s, effective={600_000 - reserve_s * 1000}ms",
        f"4869/20000 train_loss: 2.3386 train_time: {train_ms / 60000:.1f}m tok/s: 6600000",
        "4869/20000 val_loss: 2.3386 val_bpb: 1.0686",
        f"stopping_early: wallclock_cap train_time: {train_ms}ms step: 4869/20000",
        "Code size (uncompressed): 131000 bytes",
        f"Code size (compressed): {code} bytes",
        f"GPTQ:collected 67 Hessians in {hessians_s}s",
        f"Serialized model quantized+brotli: {model} bytes",
        f"Total submission size quantized+brotli: {model + code} bytes",
        f"quantized_ttt_phased val_loss:{loss:.8f} val_bpb:{bpb:.8f} eval_time:391000ms",
        "total_eval_time:391.0s",
        "",
    ])


def claim(name: str, date: str, val_bpb: float | None, **extra: object) -> dict[str, object]:
    out: dict[str, object] = {"author": "Fixture Author", "github_id": "fixture", "name": name, "date": date}
    if val_bpb is not None:
        out["val_bpb"] = val_bpb
    out.update(extra)
    return out


def write(track: str, name: str, files: dict[str, str | dict[str, object]], script: str | None = SCRIPT,
          script_name: str = "train_gpt.py") -> None:
    folder = ROOT / track / name
    folder.mkdir(parents=True)
    (folder / "README.md").write_text(f"# {name}\n\nA synthetic record folder for the rulings tests.\n")
    if script is not None:
        (folder / script_name).write_text(script)
    for fname, body in files.items():
        text = body if isinstance(body, str) else json.dumps(body, indent=2) + "\n"
        (folder / fname).write_text(text)


SEEDS = {42: (1.08120000, 2.79300000), 314: (1.08150000, 2.79380000), 999: (1.08090000, 2.79220000)}
MEAN = round(sum(b for b, _ in SEEDS.values()) / 3, 8)


def packed(source: str) -> str:
    """A self-extracting wrapper of ``source`` (raw LZMA2 under base85), as packed records ship."""
    raw = lzma.compress(source.encode(), format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2}])
    payload = base64.b85encode(raw).decode()
    return ("import lzma as L,base64 as B\n"
            f'exec(L.decompress(B.b85decode("{payload}"),format=L.FORMAT_RAW,filters=[{{"id":L.FILTER_LZMA2}}]))\n')


def main() -> None:
    if ROOT.exists():
        shutil.rmtree(ROOT)
    # ----- STAT-SIG -------------------------------------------------------------------------------
    one = {"train_seed42.log": sliding_log(42, 1.1000, 1.8570)}
    write(RECORD, "2026-03-19_SingleRunEarly", {**one, "submission.json": claim("early", "2026-03-19T10:00:00Z", 1.1)})
    write(RECORD, "2026-03-20_SingleRunLate", {**one, "submission.json": claim("late", "2026-03-20", 1.1)})
    four = {f"train_run{i}.log": sliding_log(1337, 1.1000 + i / 10_000, 1.8570 + i / 10_000) for i in range(4)}
    write(RECORD, "2026-04-01_FourRunsOneSeed", {**four, "submission.json": claim("four", "2026-04-01", 1.10015)})
    write(RECORD, "2026-03-17_NaiveBaseline", {"train.log": sliding_log(1337, 1.2244, 2.0727),
                                               "submission.json": {"author": "Baseline", "github_id": "openai",
                                                                   "name": "Naive Baseline", "date": "2026-03-18",
                                                                   "val_bpb": 1.2244}})
    record = {"train_seed42.log": phased_log(42, *SEEDS[42])}
    write(RECORD, "2026-04-27_OneSeedRecord", {**record, "submission.json": claim("one seed", "2026-04-27", 1.0812,
                                                                                  seeds=[42])})
    support = {f"train_seed{s}.log": phased_log(s, b, lo) for s, (b, lo) in SEEDS.items()}
    write(RECORD, "2026-04-29_SupportRuns", {**support, "submission.json": claim(
        "support", "2026-04-29", MEAN, submission_type="record_support", supports_pr=4242, seeds=sorted(SEEDS))})
    objects = claim("seed objects", "2026-04-02", MEAN, seeds=[{"seed": s, "val_bpb": b} for s, (b, _) in SEEDS.items()])
    write(RECORD, "2026-04-02_SeedObjects", {**support, "submission.json": objects})
    smear = {f"train_seed{s}.log": sliding_log(s, b, lo, code=len(SMEAR_SCRIPT.encode())) for s, (b, lo) in SEEDS.items()}
    write(RECORD, "2026-04-03_SmearBeforeRuling", {**smear, "submission.json": claim("smear", "2026-04-03", MEAN)},
          script=SMEAR_SCRIPT)
    # ----- TIME-TRAIN -----------------------------------------------------------------------------
    over = {f"train_seed{s}.log": phased_log(s, b, lo, train_ms=599_600, hessians_s=3.5, reserve_s=0)
            for s, (b, lo) in SEEDS.items()}
    write(RECORD, "2026-04-20_GptqOvershoot", {**over, "submission.json": claim("overshoot", "2026-04-20", MEAN)})
    beyond = {f"train_seed{s}.log": phased_log(s, b, lo, train_ms=599_600, hessians_s=8.0, reserve_s=0)
              for s, (b, lo) in SEEDS.items()}
    write(RECORD, "2026-04-21_GptqBeyond", {**beyond, "submission.json": claim("beyond", "2026-04-21", MEAN)})
    rerun = {f"train_seed{s}_rerun.log": phased_log(s, b + 0.0001, lo, train_ms=592_000, hessians_s=3.5, reserve_s=8)
             for s, (b, lo) in SEEDS.items()}
    write(RECORD, "2026-04-22_GptqRerun", {**over, **rerun, "submission.json": claim(
        "rerun", "2026-04-22", MEAN, seeds={str(s): {"val_bpb": b} for s, (b, _) in SEEDS.items()})})
    # ----- VAL-FULL-COVERAGE ----------------------------------------------------------------------
    def coverage(n: int) -> dict[str, str]:
        return {f"train_seed{s}.log": phased_log(s, b, lo, val_tokens=n) for s, (b, lo) in SEEDS.items()}
    write(RECORD, "2026-04-23_NextDocBos", {**coverage(47_851_520 - 50_000),
                                            "submission.json": claim("bos", "2026-04-23", MEAN)})
    write(RECORD, "2026-04-24_CaseOpsTail", {**coverage(47_853_343), "submission.json": claim("tail", "2026-04-24", MEAN)})
    write(RECORD, "2026-04-25_OneWindowGap", {**coverage(47_851_520 - 1_000),
                                              "submission.json": claim("gap", "2026-04-25", MEAN)})
    write(RECORD, "2026-04-26_Subset", {**coverage(9_663_488), "submission.json": claim("subset", "2026-04-26", MEAN)})
    # ----- CLAIM-CONSISTENCY and ART-16MB ---------------------------------------------------------
    sized = {42: 15_850_100, 314: 15_850_200, 999: 15_850_300}
    logs = {f"train_seed{s}.log": sliding_log(s, SEEDS[s][0], SEEDS[s][1], model=sized[s]) for s in SEEDS}
    write(RECORD, "2026-04-05_BytesRounded", {**logs, "submission.json": claim(
        "rounded", "2026-04-05", MEAN, bytes_total=15_900_000,
        seed_results={"42": {"artifact_bytes": sized[999] + CODE}, "314": {"artifact_bytes": sized[314] + CODE},
                      "999": {"artifact_bytes": sized[999] + CODE}})})
    big = {42: 15_976_000, 314: 15_977_000, 999: 15_978_000}
    helper = SCRIPT + "".join(f"# the source a trampoline runs, line {i:05d}\n" for i in range(2_000))
    over_cap = {f"train_seed{s}.log": sliding_log(s, SEEDS[s][0], SEEDS[s][1], model=big[s], code=len(helper.encode()))
                for s in SEEDS}
    write(RECORD, "2026-04-06_BytesAtStake", {**over_cap, "train_gpt_decode.py": helper, "submission.json": claim(
        "at stake", "2026-04-06", MEAN, bytes_total=big[999],
        seed_results={str(s): {"val_bpb": SEEDS[s][0], "artifact_bytes": big[s]} for s in SEEDS})},
          script='exec(open(__file__.replace("train_gpt.py", "train_gpt_decode.py")).read())\n')
    compressed = {f"train_seed{s}.log": phased_log(s, b, lo, model=15_900_000 + s) for s, (b, lo) in SEEDS.items()}
    write(RECORD, "2026-04-07_ModelPlusScript", {**compressed, "submission.json": claim(
        "model plus script", "2026-04-07", MEAN, bytes_total=15_900_999 + CODE)})
    swapped = {"train_seed42.log": sliding_log(42, 1.0812, 2.7930), "train_seed314.log": sliding_log(314, 1.0815, 2.7938),
               "train_seed999.log": sliding_log(999, 1.0809, 2.7922)}
    write(RECORD, "2026-04-08_ClaimInOtherLog", {**swapped, "submission.json": claim(
        "swapped labels", "2026-04-08", 1.0812,
        seed_results={"42": {"val_bpb": 1.0812}, "314": {"val_bpb": 1.0809}, "999": {"val_bpb": 1.0815}})})
    foreign = {f"train_seed{s}.log": sliding_log(s, SEEDS[s][0], SEEDS[s][1], model=big[s], code=61_234) for s in SEEDS}
    write(RECORD, "2026-04-09_ForeignLogs", {**foreign, "submission.json": claim("foreign", "2026-04-09", MEAN,
                                                                                 bytes_total=15_900_000)})
    source = SCRIPT + "".join(f"# padding line {i:05d} of the unpacked source, so the raw text is large\n"
                              for i in range(1_600))
    wrapper = packed(source)
    raw_bytes = len(source.encode())
    model = 16_000_000 - raw_bytes + 500  # raw total 500 over the cap; with the wrapper well under
    packed_logs = {f"train_seed{s}.log": sliding_log(s, SEEDS[s][0], SEEDS[s][1], model=model, code=raw_bytes)
                   for s in SEEDS}
    write(RECORD, "2026-04-10_PackedRawOver", {**packed_logs, "submission.json": claim("packed", "2026-04-10", MEAN)},
          script=wrapper)
    # ----- FOLDER ---------------------------------------------------------------------------------
    plain = {f"train_seed{s}.log": sliding_log(s, b, lo) for s, (b, lo) in SEEDS.items()}
    write(RECORD, "2026-04-11_MeanUnderValLoss", {**plain, "submission.json": claim("mean under val_loss", "2026-04-11",
                                                                                   None, val_loss=MEAN)})
    write(NON_RECORD, "2026-04-12_NoLogs", {"submission.json": claim("no logs", "2026-04-12", 1.25,
                                                                      track="non_record_16mb")})
    write(RECORD, "2026-04-13_OtherScriptName", {**plain, "submission.json": claim("v5", "2026-04-13", MEAN)},
          script_name="train_gpt_v5.py")
    write(RECORD, "2026-04-14_LogOnly", {"train.log": sliding_log(42, 1.1000, 1.8570)}, script=None)


if __name__ == "__main__":
    main()
