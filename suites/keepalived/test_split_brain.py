"""What a broken setup looks like: on a Docker internal network both keepalived members become master.

This test passes when the framework *catches* the split brain: the VIP history shows two
holders at once and the captures show both members advertising for the same router id. A
real suite would assert the opposite (``max_simultaneous_owners == 1``, or
``@pytest.mark.slo(max_owners=1)``) and fail here, which is the point of running it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.expect import eventually
from chaos.lab import Lab
from chaos.observe import analysis


@pytest.mark.topology("split_brain.yaml")
def test_an_internal_network_splits_the_pair_and_the_framework_sees_it(lab: Lab, tmp_path: Path) -> None:
    www = lab.vips["www"]
    # No host hears the other's multicast, not even a bystander, so each member captures its own side.
    with lab.capture("lb1", directory=tmp_path) as on_lb1, lab.capture("lb2", directory=tmp_path) as on_lb2:
        www.history.wait_until(lambda owners: owners == ["lb1", "lb2"], within="15s", what="both members to hold www")
        for capture, host in ((on_lb1, "lb1"), (on_lb2, "lb2")):
            eventually(
                lambda capture=capture, host=host: [a.source for a in capture.adverts(www)].count(host),
                until=lambda n: n >= 3,  # three from each: their stretches overlap by more than an interval
                within="10s",
                what=f"three adverts from {host}",
            )

    # The VIP history: both members held the address at once.
    assert www.history.max_simultaneous_owners == 2
    assert www.history.shared_periods[-1].owners == ("lb1", "lb2")

    # The wire: both advertised as master for the same router id at the same time...
    both = analysis.merge(on_lb1.packets, on_lb2.packets)
    splits = analysis.split_brains(both, www)
    assert splits, f"no split brain on the wire; adverts: {analysis.adverts_of(both)}"
    assert all(split.sources == ("lb1", "lb2") for split in splits)
    assert sum(split.duration for split in splits) > 0
    # Not always one long split brain: we saw an advert slip through now and then while
    # another network was being created on the engine (Docker reprograms its isolation
    # rules); lb2 then steps back for one Master_Down_Interval and becomes master again.
