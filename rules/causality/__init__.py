"""C1-CAUSAL: the prediction at t depends only on the artifact and the strict prefix."""

from auditor.analysis.channels import ChannelState
from auditor.findings import Level


def channel_level(state: ChannelState | None) -> tuple[bool, Level | None, list[str], str]:
    """How a target-gated hint channel is reported, given whether the configuration switches it off
    (RULEBOOK C1-b legal look-alikes, §8.4): ``(skip, level, evidence, message suffix)``.

    Off under constants or under values the run's configuration states: not reported. Off only in the
    run's configuration, on under the code's defaults: WARN (unsafe defaults). Off only under the
    code's defaults, nothing saying what the run used: REVIEW, like any default-off gate."""
    if state is None:
        return False, None, [], ""
    if not state.off:
        return False, None, [f"live: {state.because}"] if state.because else [], ""
    if state.by_run_configuration:
        return False, Level.WARN, [f"off in the run's configuration: {state.because}; the code's defaults turn it on"], ""
    if state.established:
        return True, None, [], ""
    return False, Level.REVIEW, [f"off under the code's defaults only: {state.because}"], \
        " (live unless the run keeps the defaults that switch the channel off)"
