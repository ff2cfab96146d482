"""Stylise a video file: frames decoded, stylised in batches and encoded, the three overlapped.

A decode thread fills a bounded queue with frames (and the audio packets between them), the calling thread
stylises them in batches with :func:`stylenet.inference.stylize` (the same runtimes as images), and an encode
thread writes the results and copies the audio (:mod:`stylenet.video_io`). Progress is shown in frames/s.
The output is written under a temporary name and renamed when complete; on any error it is removed.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch
from tqdm import tqdm

from stylenet.inference import Model, StyleOptions, stylize
from stylenet.output_files import Summary, notify, output_targets
from stylenet.video_io import (
    Frame,
    VideoInfo,
    VideoReadError,
    VideoSource,
    VideoWriter,
    encoded_size,
    first_line,
    resized_size,
)

VIDEO_BATCH_SIZE = 4  # frames stylised together
QUEUE_BATCHES = 2  # batches each queue holds: enough to keep the network busy, little memory
END = None  # the last item of a queue


@dataclass
class Batch:
    """Frames ``(H, W, 3)`` uint8 with their timestamps, and the audio packets that came before the last."""

    frames: list[np.ndarray]
    pts: list[int]
    packets: list[av.Packet]


@dataclass(frozen=True)
class VideoResult:
    """A stylised video: where it went, how many frames, how long it took (seconds, all of it)."""

    path: Path
    frames: int
    seconds: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


class Worker(threading.Thread):
    """Runs ``work`` in a thread; an exception stops the run (sets ``stop``) and :meth:`join_raising` raises it."""

    def __init__(self, work: Callable[[], None], name: str, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.work, self.stop, self.error = work, stop, None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as error:  # noqa: BLE001 - handed to the calling thread
            self.error = error
            self.stop.set()

    def join_raising(self) -> None:
        self.join()
        if self.error is not None:
            raise self.error


def put(channel: queue.Queue, item: Any, stop: threading.Event) -> None:
    """Put ``item`` on a bounded queue unless the run stopped (so a failed consumer never blocks a producer)."""
    while not stop.is_set():
        try:
            channel.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def take(channel: queue.Queue, stop: threading.Event) -> Any:
    """The next item of ``channel``, or :data:`END` once the run stopped."""
    while not stop.is_set():
        try:
            return channel.get(timeout=0.1)
        except queue.Empty:
            continue
    return END


def batches(source: VideoSource, size: int | None, batch_size: int) -> Iterator[Batch]:
    """The source's frames in batches of ``batch_size`` (the last may be shorter), with their audio packets."""
    batch = Batch([], [], [])
    for item in source.items(size):
        if isinstance(item, Frame):
            batch.frames.append(item.rgb)
            batch.pts.append(item.pts)
            if len(batch.frames) == batch_size:
                yield batch
                batch = Batch([], [], [])
        else:
            batch.packets.append(item)
    if batch.frames or batch.packets:
        yield batch


def stylize_frames(model: Model, frames: list[np.ndarray], options: StyleOptions) -> list[np.ndarray]:
    """Stylise ``(H, W, 3)`` uint8 frames as one ``(B, 3, H, W)`` batch; returns them in the same form."""
    images = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div_(255)
    stylized = stylize(model, images, options).clamp(0, 1).mul(255).round().to(torch.uint8)
    return list(stylized.permute(0, 2, 3, 1).cpu().numpy())


def describe(info: VideoInfo, width: int, height: int) -> list[str]:
    """The notices of a run: a crop to even sizes, streams that are not copied."""
    notes = []
    if encoded_size(width, height) != (width, height):
        even = "x".join(map(str, encoded_size(width, height)))
        notes.append(f"{info.path}: cropped {width}x{height} to {even} (H.264/VP9 in yuv420p need even sizes)")
    if info.dropped:
        notes.append(f"{info.path}: not copied: {', '.join(info.dropped)} stream(s) (only video and audio are)")
    return notes


def stylize_video(
    model: Model,
    source_path: str | os.PathLike,
    target: str | os.PathLike,
    options: StyleOptions = StyleOptions(),
    size: int | None = None,
    batch_size: int = VIDEO_BATCH_SIZE,
    progress: bool = True,
) -> VideoResult:
    """Stylise the video ``source_path`` into ``target`` (the container from its suffix): the same timestamps
    (so rate and duration), the size or longest side ``size`` (cropped to even sides), the audio streams copied.

    Raises :class:`~stylenet.video_io.VideoReadError` (one line naming the file) for a file that is not a
    readable video or breaks off while decoding, ``OSError`` when the output cannot be written; ``target``
    is then left as it was.
    """
    start = time.perf_counter()
    with VideoSource(source_path) as source:
        info = source.info
        width, height = resized_size(info.width, info.height, size)
        for note in describe(info, width, height):
            notify(note)
        decoded: queue.Queue = queue.Queue(QUEUE_BATCHES)
        stylized: queue.Queue = queue.Queue(QUEUE_BATCHES)
        stop = threading.Event()
        bar = tqdm(total=info.frames or None, desc=info.path.name, unit="frame", disable=not progress)
        frames = 0

        def decode() -> None:
            for batch in batches(source, size, batch_size):
                put(decoded, batch, stop)
            put(decoded, END, stop)

        with VideoWriter(target, width, height, info.rate, info.time_base, info.audio) as writer:

            def encode() -> None:
                while (batch := take(stylized, stop)) is not END:
                    writer.write(batch.frames, batch.pts)
                    writer.copy(batch.packets)
                    bar.update(len(batch.frames))

            workers = [Worker(decode, "decode", stop), Worker(encode, "encode", stop)]
            for worker in workers:
                worker.start()
            try:
                while (batch := take(decoded, stop)) is not END:
                    if batch.frames:
                        batch.frames = stylize_frames(model, batch.frames, options)
                    frames += len(batch.frames)
                    put(stylized, batch, stop)
                put(stylized, END, stop)
                for worker in workers:
                    worker.join_raising()
            finally:
                stop.set()
                bar.close()
                for worker in workers:
                    worker.join()
            if not frames:
                raise VideoReadError(f"{info.path}: not a readable video (no frame could be decoded)")
            if frames < info.frames:
                raise VideoReadError(f"{info.path}: truncated video ({frames} of {info.frames} frames decoded)")
    return VideoResult(Path(target), frames, time.perf_counter() - start)


def stylize_videos(
    model: Model,
    inputs: list[Path],
    output_dir: Path,
    options: StyleOptions,
    size: int | None = None,
    batch_size: int = VIDEO_BATCH_SIZE,
    overwrite: bool = False,
    progress: bool = True,
) -> Summary:
    """Stylise every video of ``inputs`` into ``output_dir`` (:func:`stylize_video`), one after the other; each
    that fails is recorded in one line and leaves nothing under its output name."""
    pairs, clashes = output_targets(inputs, output_dir)
    summary = Summary(failed=clashes)
    for source, target in pairs:
        if target.exists() and not overwrite:
            summary.skipped.append(source)
            continue
        try:
            result = stylize_video(model, source, target, options, size, batch_size, progress)
        except (VideoReadError, FileNotFoundError) as error:
            summary.failed[source] = str(error)
            continue
        except (OSError, av.FFmpegError) as error:
            summary.failed[source] = f"{source}: cannot write {target} ({first_line(error)})"
            continue
        summary.written.append(target)
        notify(f"{source}: {result.frames} frames in {result.seconds:.1f} s ({result.fps:.1f} frames/s)")
    return summary
