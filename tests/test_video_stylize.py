"""stylenet stylize on videos: real PyAV files made here from real photos; rate, size, duration, timestamps and
audio kept; odd sizes, variable frame rate, several streams; bad inputs fail in one line and leave no file."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image
from stylize_helpers import NEURAL_STYLE, TUBINGEN, checkpoint_fixture  # noqa: F401 - a fixture

from stylenet.cli import main
from stylenet.synthetic_clips import SAMPLE_RATE, TONE_HZ, save_clip, synthetic_clip

FRAMES = 10


def photo(path=TUBINGEN) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def clip_frames(width: int, height: int, motion: str = "pan") -> list[np.ndarray]:
    return synthetic_clip(photo(), motion, width, height, FRAMES).frames


def probe(path) -> dict:
    """What a video file holds: video size, rate, frame timestamps in seconds, duration, audio streams' codecs
    and packet counts."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = [(s.codec_context.name, s.rate) for s in container.streams.audio]
        duration = container.duration / av.time_base if container.duration else None
        size, rate = (video.width, video.height), video.average_rate
        times = [float(f.pts * f.time_base) for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        packets = [sum(1 for p in container.demux(s) if p.size) for s in container.streams.audio]
    return {"size": size, "rate": rate, "times": times, "audio": audio,
            "packets": packets, "duration": duration}  # fmt: skip


def encode(path, frames, times, time_base=Fraction(1, 1000), pix_fmt="yuv420p", audio_streams=0, codec="libx264"):
    """Write ``frames`` at ``times`` (seconds) with PyAV's own API, and ``audio_streams`` AAC tones."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=25)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.time_base = video.codec_context.time_base = time_base
        tones = [container.add_stream("aac", rate=SAMPLE_RATE, layout="mono") for _ in range(audio_streams)]
        for rgb, time in zip(frames, times, strict=True):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = round(time / time_base), time_base
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        samples = int(times[-1] * SAMPLE_RATE)
        for n, stream in enumerate(tones):
            wave = np.sin(2 * np.pi * TONE_HZ * (n + 1) * np.arange(samples) / SAMPLE_RATE).astype(np.float32)
            for start in range(0, samples, 1024):
                frame = av.AudioFrame.from_ndarray(wave[None, start : start + 1024], format="fltp", layout="mono")
                frame.sample_rate, frame.pts = SAMPLE_RATE, start
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory):
    """One ONNX conversion of the checkpoint for every test here."""
    return tmp_path_factory.mktemp("cache")


def stylize(source, output, checkpoint, cache, *extra) -> int:
    args = ["stylize", str(source), "-m", str(checkpoint), "-o", str(output), "--cache-dir", str(cache)]
    return main([*args, "--quiet", *extra])


def no_temporary_files(folder) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".")] if folder.exists() else True


def test_video_keeps_rate_size_timestamps_duration_and_audio(checkpoint, cache, tmp_path, capsys):
    source, output = tmp_path / "pan.mp4", tmp_path / "out"
    frames = clip_frames(160, 96)
    save_clip(frames, source, rate=25, tone=True)
    assert stylize(source, output, checkpoint, cache) == 0
    assert "stylised 1" in capsys.readouterr().out
    before, after = probe(source), probe(output / "pan.mp4")
    assert after["size"] == (160, 96) and after["rate"] == 25
    assert after["times"] == before["times"] and len(after["times"]) == FRAMES
    assert after["duration"] == pytest.approx(before["duration"], abs=0.05)
    assert after["audio"] == [("aac", SAMPLE_RATE)] and after["packets"] == before["packets"]
    assert before["packets"][0] > 10
    with av.open(str(output / "pan.mp4")) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(float)
    assert np.abs(first - frames[0]).mean() > 10, "the frames are stylised"
    assert no_temporary_files(output)


def test_size_option_and_odd_sizes_crop_to_even_with_a_notice(checkpoint, cache, tmp_path, capsys):
    source, output = tmp_path / "odd.mkv", tmp_path / "out"
    encode(source, clip_frames(161, 91), [i / 25 for i in range(FRAMES)], pix_fmt="yuv444p")
    assert probe(source)["size"] == (161, 91)
    assert stylize(source, output, checkpoint, cache) == 0
    assert "cropped 161x91 to 160x90" in capsys.readouterr().err
    assert probe(output / "odd.mkv")["size"] == (160, 90)
    assert stylize(source, tmp_path / "small", checkpoint, cache, "--size", "81") == 0
    assert probe(tmp_path / "small/odd.mkv")["size"] == (80, 46)  # 81x46 cropped to even


def test_variable_frame_rate_keeps_every_timestamp(checkpoint, cache, tmp_path):
    source, output = tmp_path / "vfr.mp4", tmp_path / "out"
    times = [0.0, 0.04, 0.08, 0.2, 0.24, 0.4, 0.44, 0.48, 0.7, 0.74]
    encode(source, clip_frames(128, 72), times)
    assert probe(source)["times"] == pytest.approx(times)
    assert stylize(source, output, checkpoint, cache, "--batch-size", "3") == 0
    assert probe(output / "vfr.mp4")["times"] == pytest.approx(times)


def test_several_audio_streams_are_all_copied_and_no_audio_is_fine(checkpoint, cache, tmp_path):
    two, silent, output = tmp_path / "two.mkv", tmp_path / "silent.mov", tmp_path / "out"
    frames, times = clip_frames(128, 72, "zoom"), [i / 25 for i in range(FRAMES)]
    encode(two, frames, times, audio_streams=2)
    encode(silent, frames, times)
    assert stylize(two, output, checkpoint, cache) == 0
    assert stylize(silent, output, checkpoint, cache) == 0
    before, after = probe(two), probe(output / "two.mkv")
    assert len(after["audio"]) == 2 and after["packets"] == before["packets"]
    assert probe(output / "silent.mov")["audio"] == [] and len(probe(output / "silent.mov")["times"]) == FRAMES


def test_bad_videos_fail_in_one_line_and_leave_nothing_under_the_final_name(checkpoint, cache, tmp_path, capsys):
    good, output = tmp_path / "good.mp4", tmp_path / "out"
    save_clip(clip_frames(128, 72), good)
    data = good.read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.mp4").write_text("not a video\n")
    (tmp_path / "image.mkv").write_bytes((NEURAL_STYLE / "golden_gate.jpg").read_bytes())
    for name in ("truncated.mp4", "text.mp4", "image.mkv"):
        with pytest.raises(SystemExit) as exit_info:
            stylize(tmp_path / name, output, checkpoint, cache)
        message = str(exit_info.value.code)
        assert message.startswith(f"stylenet stylize: error: {tmp_path / name}: ") and "\n" not in message
        assert not (output / name).exists() and no_temporary_files(output)
    capsys.readouterr()


def test_a_video_cut_inside_its_frames_is_an_error_and_an_old_output_stays(checkpoint, cache, tmp_path):
    source, output = tmp_path / "cut.mp4", tmp_path / "out"
    encode(source, clip_frames(128, 72), [i / 25 for i in range(FRAMES)])
    assert stylize(source, output, checkpoint, cache) == 0
    written = (output / "cut.mp4").read_bytes()
    with av.open(str(source), "w", options={"movflags": "faststart"}) as container:  # index first, then frames
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 128, 72, "yuv420p"
        for i, rgb in enumerate(clip_frames(128, 72)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
    data = source.read_bytes()
    source.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(SystemExit, match=r"cut\.mp4: (truncated video|cannot decode)"):
        stylize(source, output, checkpoint, cache, "--overwrite")
    assert (output / "cut.mp4").read_bytes() == written and no_temporary_files(output)
