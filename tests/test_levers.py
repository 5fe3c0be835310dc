"""Levers chosen by measurement: which are tried, how the timings and agreement decide, the cache, the runs.

The timings are mocked: a fake clock advances by what each lever "costs", so the decisions are the ones a CPU
with native bf16 (bf16 faster) and an AVX2-only CPU (bf16 emulated, slower) would get.
"""

from __future__ import annotations

import json
import logging

import pytest
import torch

from translate import levers
from translate.errors import ConfigError
from translate.levers import FP32, Lever

CPU = torch.device("cpu")
levers_measure, levers_screen = levers.measure, levers.screen
BF16, FP32_CL, BF16_CL = Lever("bf16"), Lever("fp32", True), Lever("bf16", True)


class FakeMachine:
    """A probe and a clock: each lever's call takes `costs[lever]` seconds and returns `results[lever]`."""

    def __init__(self, costs: dict[Lever, float], results: dict[Lever, float] | None = None) -> None:
        self.costs, self.results = costs, results or {}
        self.now, self.calls = 0.0, {lever: 0 for lever in costs}

    def clock(self) -> float:
        return self.now

    def probe(self, lever: Lever):
        def call() -> float:
            self.now += self.costs[lever]
            self.calls[lever] += 1
            return self.results.get(lever, 1.0)

        return call


def difference(a: float, b: float) -> float:
    return abs(a - b)


def run(machine: FakeMachine, tolerance: float = 0.01):
    trials = levers.measure(list(machine.costs), machine.probe, difference, tolerance, clock=machine.clock)
    return trials, levers.choose(trials)


@pytest.fixture(autouse=True)
def screen_finds_nothing_slow(monkeypatch):
    """The convolution screen is real code timing this machine's CPU: the decisions here use the fake timings only."""
    monkeypatch.setattr(levers, "screen", lambda device, precisions: {p: 1.0 for p in precisions if p != "fp32"})


AVX2 = {FP32: 1.0, FP32_CL: 1.05, BF16: 6.0, BF16_CL: 5.0}  # emulated bf16: several times slower
NATIVE_BF16 = {FP32: 1.0, FP32_CL: 1.0, BF16: 0.6, BF16_CL: 0.4}  # AMX: 2.5x with channels-last


def test_auto_tries_bf16_and_channels_last_on_any_cpu_and_amp_on_a_gpu():
    assert levers.candidates(CPU, "auto", "auto") == [FP32, FP32_CL, BF16, BF16_CL]
    assert levers.candidates(CPU, "auto", "off") == [FP32, BF16]
    assert levers.candidates(CPU, "fp32", "on") == [FP32_CL]


def test_explicit_settings_are_checked():
    with pytest.raises(ConfigError, match="precision 'fp16' needs a CUDA GPU"):
        levers.candidates(CPU, "fp16", "auto")
    with pytest.raises(ConfigError, match="precision 'fp8': use auto, fp32, bf16 or fp16"):
        levers.candidates(CPU, "fp8", "auto")
    with pytest.raises(ConfigError, match="channels_last 'yes': use auto, on or off"):
        levers.candidates(CPU, "auto", "yes")


def test_a_cpu_with_native_bf16_gets_the_fastest_lever_that_agrees():
    trials, (lever, why) = run(FakeMachine(NATIVE_BF16))
    assert lever == BF16_CL
    assert why.startswith("2.50x fp32")
    assert [t.accepted for t in trials] == [True, True, True, True]


def test_an_avx2_cpu_keeps_fp32_and_stops_timing_emulated_bf16_after_its_warm_up():
    machine = FakeMachine(AVX2)
    trials, (lever, why) = run(machine)
    assert lever == FP32 and why == "nothing measured faster"
    assert machine.calls[BF16] == 1  # its warm-up alone was six times the baseline's
    assert machine.calls[BF16_CL] == 0  # not tried: bf16 was already far slower
    assert "0.17x: stopped after 1 call" in trials[2].note and "not tried" in trials[3].note


def test_a_faster_lever_whose_results_differ_is_rejected():
    machine = FakeMachine(NATIVE_BF16, results={BF16_CL: 1.5})  # e.g. wrong gradients in channels-last
    trials, (lever, _) = run(machine)
    assert lever == BF16
    assert not trials[3].accepted and "results differ" in trials[3].note


def test_a_gain_within_the_noise_keeps_fp32():
    _, (lever, _) = run(FakeMachine({FP32: 1.0, FP32_CL: 0.98, BF16: 0.97, BF16_CL: 1.2}))
    assert lever == FP32


def test_a_decision_is_measured_once_then_read_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path))
    machine = FakeMachine(NATIVE_BF16)
    monkeypatch.setattr(levers, "measure", lambda lv, p, c, t, skip, **kw: levers_measure(lv, p, c, t, clock=machine.clock, skip=skip, **kw))
    first = levers.resolve(CPU, "auto", "auto", "job A", machine.probe, difference, 0.01, measure_now=True)
    calls = sum(machine.calls.values())
    again = levers.resolve(CPU, "auto", "auto", "job A", machine.probe, difference, 0.01, measure_now=True)
    assert first.lever == again.lever == BF16_CL
    assert sum(machine.calls.values()) == calls  # nothing measured the second time
    assert "cached in" in again.why and "measured" in again.why
    stored = json.loads((tmp_path / levers.CACHE_FILE).read_text())
    (key,) = stored
    assert "job A" in key and torch.__version__ in key and f"{torch.get_num_threads()} threads" in key
    assert [t.lever for t in again.trials] == [FP32, FP32_CL, BF16, BF16_CL]


def test_another_machine_or_job_is_measured_anew(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path))
    machine = FakeMachine(NATIVE_BF16)
    measured = []
    monkeypatch.setattr(levers, "measure", lambda lv, p, c, t, skip, **kw: measured.append(1) or
                        levers_measure(lv, p, c, t, clock=machine.clock))
    levers.resolve(CPU, "auto", "auto", "job A", machine.probe, difference, 0.01, measure_now=True)
    levers.resolve(CPU, "auto", "auto", "job B", machine.probe, difference, 0.01, measure_now=True)
    monkeypatch.setattr(levers, "machine", lambda device: "another CPU [avx2] 2 threads; torch x")
    levers.resolve(CPU, "auto", "auto", "job A", machine.probe, difference, 0.01, measure_now=True)
    assert len(measured) == 3


def test_settings_that_leave_one_lever_are_not_measured(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path))
    choice = levers.resolve(CPU, "fp32", "off", "job", lambda lever: pytest.fail("measured"), difference, 0.01,
                            measure_now=True)
    assert choice.lever == FP32 and choice.why == "as set"
    assert not (tmp_path / levers.CACHE_FILE).exists()


def test_a_short_job_with_nothing_cached_runs_fp32_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path))
    choice = levers.resolve(CPU, "auto", "auto", "job", lambda lever: pytest.fail("measured"), difference, 0.01,
                            measure_now=False)
    assert choice.lever == FP32 and "translate benchmark --levers" in choice.why


def test_a_damaged_cache_is_ignored_with_a_warning_and_rewritten(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path))
    (tmp_path / levers.CACHE_FILE).write_text("{not json")
    machine = FakeMachine(NATIVE_BF16)
    monkeypatch.setattr(levers, "measure", lambda lv, p, c, t, skip, **kw: levers_measure(lv, p, c, t, clock=machine.clock, skip=skip, **kw))
    with caplog.at_level(logging.WARNING, logger="translate"):
        choice = levers.resolve(CPU, "auto", "auto", "job", machine.probe, difference, 0.01, measure_now=True)
    assert choice.lever == BF16_CL
    assert "ignoring the damaged lever cache" in caplog.text
    assert json.loads((tmp_path / levers.CACHE_FILE).read_text())


def test_the_table_shows_every_trial_and_its_verdict():
    trials, _ = run(FakeMachine(AVX2))
    text = levers.table(trials)
    assert "| fp32 | 1000.0 | 1.00x | 0 | ok: baseline |" in text
    assert "| bf16 + channels-last | - | - | - | rejected: not tried: bf16 was too slow |" in text


def test_a_lever_slow_only_in_its_first_timed_call_is_still_dropped():
    machine = FakeMachine({FP32: 1.0, BF16: 1.0})
    costs = iter([1.0, 3.0, 1.0, 1.0])  # bf16: a normal warm-up, then a call three times the baseline
    machine.costs[BF16] = 0.0
    real = machine.probe

    def probe(lever):
        call = real(lever)
        if lever != BF16:
            return call

        def slow():
            machine.now += next(costs)
            return call()

        return slow

    trials = levers.measure([FP32, BF16], probe, difference, 0.01, clock=machine.clock)
    assert not trials[1].accepted and trials[1].calls == 1


def test_a_precision_the_screen_finds_far_slower_is_not_probed(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path))
    monkeypatch.setattr(levers, "screen", lambda device, precisions: {"bf16": 40.0})
    machine = FakeMachine(NATIVE_BF16)
    monkeypatch.setattr(levers, "measure", lambda lv, p, c, t, skip, **kw: levers_measure(lv, p, c, t, clock=machine.clock,
                                                                                    skip=skip))
    choice = levers.resolve(CPU, "auto", "auto", "job", machine.probe, difference, 0.01, measure_now=True)
    assert machine.calls[BF16] == machine.calls[BF16_CL] == 0
    assert choice.trials[2].note == "not tried: a bf16 convolution ran 40.0x slower than fp32's here"


def test_the_screen_times_a_real_convolution_under_each_precision():
    ratios = levers_screen(CPU, ["fp32", "bf16"])
    assert set(ratios) == {"bf16"} and ratios["bf16"] > 0


def test_freed_memory_is_kept_for_reuse_where_the_c_library_is_glibc():
    import platform

    assert levers.keep_freed_memory() is (platform.libc_ver()[0] == "glibc")
    assert levers.keep_freed_memory() is (platform.libc_ver()[0] == "glibc")  # once per process, then a no-op


class Nudged:
    """The baseline's job from a nudged start: results `result`, each call counted."""

    def __init__(self, machine: FakeMachine, result: float) -> None:
        self.machine, self.result, self.calls = machine, result, 0

    def __call__(self):
        def call() -> float:
            self.calls += 1
            return self.result

        return call


def test_a_faster_lever_within_fp32s_own_drift_is_accepted_and_the_drift_measured_once():
    machine = FakeMachine(NATIVE_BF16, {FP32: 1.0, FP32_CL: 1.0, BF16: 1.05, BF16_CL: 1.05})
    nudged = Nudged(machine, 1.03)  # fp32 itself drifts 0.03 from a nudged start: 0.05 is within twice that
    trials = levers.measure(list(machine.costs), machine.probe, difference, 0.01, clock=machine.clock, nudged=nudged)
    assert [t.accepted for t in trials] == [True, True, True, True]
    assert trials[3].note.startswith("within fp32's own drift: 0.05 <= 2 x 0.03")
    assert nudged.calls == trials[0].calls + 1  # once, as many steps as the baseline took
    assert levers.choose(trials)[0] == BF16_CL


def test_a_lever_beyond_fp32s_own_drift_is_rejected():
    machine = FakeMachine(NATIVE_BF16, {FP32: 1.0, FP32_CL: 1.0, BF16: 1.05, BF16_CL: 1.05})
    trials = levers.measure(list(machine.costs), machine.probe, difference, 0.01, clock=machine.clock,
                            nudged=Nudged(machine, 1.01))
    assert not trials[3].accepted and trials[3].note.startswith("beyond fp32's own drift")
    assert levers.choose(trials)[0] == FP32


def test_the_drift_is_not_measured_for_levers_within_tolerance_or_no_faster():
    machine = FakeMachine({FP32: 1.0, FP32_CL: 1.0, BF16: 1.2}, {FP32: 1.0, FP32_CL: 1.005, BF16: 1.5})
    nudged = Nudged(machine, 2.0)
    trials = levers.measure(list(machine.costs), machine.probe, difference, 0.01, clock=machine.clock, nudged=nudged)
    assert nudged.calls == 0 and trials[1].accepted and not trials[2].accepted


def test_a_lever_the_check_finds_wrong_is_rejected_whatever_its_difference():
    machine = FakeMachine(NATIVE_BF16, {FP32: 1.0, FP32_CL: 1.0, BF16: 1.001, BF16_CL: 1.001})  # within tolerance
    trials = levers.measure(list(machine.costs), machine.probe, difference, 0.01, clock=machine.clock,
                            check=lambda base, other: "gradients point elsewhere" if other != base else "")
    assert [t.accepted for t in trials] == [True, True, False, False]
    assert trials[3].note == "gradients point elsewhere"
