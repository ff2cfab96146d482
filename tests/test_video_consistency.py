"""Temporal consistency, measured as the field measures it: synthetic clips of real photos with their exact flow,
DIS flow checked against it, the forward-backward occlusion check against the known occlusions, Lai et al.'s
warping error of a still clip, a flickering one and a model (``stylenet evaluate --clip``)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from stylize_helpers import KODAK, TUBINGEN, checkpoint_fixture  # noqa: F401 - a fixture

from stylenet.cli import main
from stylenet.optical_flow import FlowEstimator, backward_warp, reliable_mask
from stylenet.synthetic_clips import MOTIONS, synthetic_clip
from stylenet.warping_error import warping_error

WIDTH, HEIGHT, FRAMES = 160, 96, 6


@pytest.fixture(scope="module")
def clips() -> dict:
    photo = np.asarray(Image.open(TUBINGEN).convert("RGB"))
    return {motion: synthetic_clip(photo, motion, WIDTH, HEIGHT, FRAMES) for motion in MOTIONS}


def flows(clip, t: int) -> tuple[np.ndarray, np.ndarray]:
    estimate = FlowEstimator()
    return estimate(clip.frames[t], clip.frames[t + 1]), estimate(clip.frames[t + 1], clip.frames[t])


@pytest.mark.parametrize("motion", MOTIONS)
def test_exact_flow_moves_the_next_frame_onto_this_one(clips, motion):
    clip = clips[motion]
    assert len(clip.frames) == FRAMES and clip.frames[0].shape == (HEIGHT, WIDTH, 3)
    moving = max(np.linalg.norm(flow, axis=-1).max() for flow in clip.flows)
    assert moving > 0.5, "the clip moves"
    for t, flow in enumerate(clip.flows):
        warped = backward_warp(clip.frames[t + 1].astype(np.float32), flow)
        error = np.abs(warped - clip.frames[t])[clip.visible[t]].mean()
        assert error < 2.0, f"{motion} frame {t}: {error:.2f}/255"  # measured 0.04-1.1 (resampling, twice)
        if t:  # without the flow the frames differ far more
            assert np.abs(clip.frames[t + 1].astype(float) - clip.frames[t]).mean() > 2 * error


@pytest.mark.parametrize("motion", MOTIONS)
def test_dis_flow_matches_the_exact_flow(clips, motion):
    clip = clips[motion]
    for t in range(FRAMES - 1):
        forward, backward = flows(clip, t)
        endpoint = np.linalg.norm(forward - clip.flows[t], axis=-1)
        assert np.median(endpoint[clip.visible[t]]) < 0.15, f"{motion} frame {t}"  # measured 0.04-0.08 px
        moving = clip.visible[t] & (np.linalg.norm(clip.flows[t], axis=-1) > 0.5)
        if motion == "object":  # the disc moves ~8 px a frame over a still photo
            assert np.median(endpoint[moving]) < 0.6, f"disc, frame {t}"  # measured 0.1-0.25 px
        reliable = reliable_mask(forward, backward)
        assert reliable[clip.visible[t]].mean() > 0.8
        if (~clip.visible[t]).sum() > 50:
            assert (~reliable[~clip.visible[t]]).mean() > 0.8, "pixels that disappear fail the check"


def test_warping_error_is_near_zero_for_a_clip_and_clearly_higher_with_flicker(clips):
    rng = np.random.default_rng(0)
    for motion, clip in clips.items():
        still = warping_error(clip.frames, clip.frames)
        noisy = [np.clip(f + rng.normal(0, 8, f.shape), 0, 255).astype(np.uint8) for f in clip.frames]
        flicker = [np.clip(f * (1 + 0.1 * (-1) ** t), 0, 255).astype(np.uint8) for t, f in enumerate(clip.frames)]
        assert still < 2e-4, motion  # measured 4e-5 - 6e-5 (resampling, flow errors)
        assert warping_error(clip.frames, noisy) > 4 * still + 1e-3, motion  # 2 x (8/255)^2 = 2e-3 of noise
        assert warping_error(clip.frames, flicker) > 10 * still, motion
    with pytest.raises(ValueError, match="at least 2 frames"):
        warping_error(clips["pan"].frames[:1], clips["pan"].frames[:1])


def test_evaluate_reports_the_warping_error_of_a_model_next_to_the_clips_own(checkpoint, tmp_path, capsys):
    args = ["evaluate", "-m", str(checkpoint), "-o", str(tmp_path / "eval"), "--content", str(KODAK[0])]
    args += ["--size", "64", "--clip", "pan", "object", "--clip-size", "96", "--backend", "eager"]
    assert main(args) == 0
    lines = (tmp_path / "eval/warping_error.csv").read_text().splitlines()
    assert lines[0] == "clip,warping_error,unmodified"
    assert [line.split(",")[0] for line in lines[1:]] == ["pan", "object"]
    for line in lines[1:]:
        model, unmodified = map(float, line.split(",")[1:])
        assert 0 < unmodified < 3e-4 and model > unmodified, "a 2-step net is far from stable"
    assert "warping error" in capsys.readouterr().out
