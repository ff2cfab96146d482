"""The blob detector on a real photo: white blobs painted where the photo is dark, and black ones where it is not
black, are found, each once, where they are; the photo's own white or black areas, large white areas, specks on
white and dark grey discs are not blobs."""

from __future__ import annotations

import pytest
import torch

from stylenet.blob_artefacts import blob_share, find_blobs
from stylenet.imageio import load_image
from tests.conftest import KODAK


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    return load_image(next(p for p in KODAK if p.stem == "kodim23"), 512)  # two parrots, a dark green background


def paint_disc(image: torch.Tensor, x: int, y: int, radius: float, value: float = 1.0) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(image.shape[1]), torch.arange(image.shape[2]), indexing="ij")
    painted = image.clone()
    painted[:, (xs - x) ** 2 + (ys - y) ** 2 <= radius**2] = value
    return painted


def points_where(mask: torch.Tensor, count: int, margin: int = 20) -> list[tuple[int, int]]:
    """``count`` points spread over the ``(H, W)`` ``mask`` where it holds, far from each other."""
    points: list[tuple[int, int]] = []
    for y in range(margin, mask.shape[0] - margin, 37):
        for x in range(margin, mask.shape[1] - margin, 41):
            window = mask[y - 6 : y + 7, x - 6 : x + 7]
            if window.all() and all(abs(x - px) + abs(y - py) > 60 for px, py in points):
                points.append((x, y))
    assert len(points) >= count, "the photo has such areas for the test"
    return points[:count]


def dark_points(photo: torch.Tensor, count: int) -> list[tuple[int, int]]:
    return points_where(photo.amax(0) < 0.5, count)


def light_points(photo: torch.Tensor, count: int) -> list[tuple[int, int]]:
    return points_where(photo.amin(0) > 0.3, count)


def test_painted_specks_are_found_where_they_are(photo):
    points = dark_points(photo, 5)
    output = photo
    for x, y in points:
        output = paint_disc(output, x, y, 4)
    blobs = find_blobs(output, photo)
    assert sorted((round(b.x), round(b.y)) for b in blobs) == sorted(points)
    assert all(45 <= b.area <= 55 for b in blobs)
    assert blob_share([output, photo], [photo, photo]) == pytest.approx(
        sum(b.area for b in blobs) / photo[0].numel() / 2
    )


def test_the_photo_itself_large_white_areas_and_specks_on_white_are_not_blobs(photo):
    assert find_blobs(photo, photo) == []
    x, y = dark_points(photo, 1)[0]
    assert find_blobs(paint_disc(photo, x, y, 200), photo) == [], "a large white area is no blob"
    white = paint_disc(photo, x, y, 12)
    assert find_blobs(paint_disc(white, x, y, 4), white) == [], "a blob where the photo is white is the photo's"
    assert find_blobs(paint_disc(photo, x, y, 4, 0.8), photo) == [], "a light grey blob is not saturated"
    assert find_blobs(paint_disc(photo, x, y, 2), photo) == [], "a speck of a few pixels is texture"
    with pytest.raises(ValueError, match="differ in shape"):
        find_blobs(photo[:, :10], photo)


def test_black_specks_are_found_where_the_photo_is_not_black(photo):
    points = light_points(photo, 4)
    output = photo
    for x, y in points:
        output = paint_disc(output, x, y, 4, 0.0)
    blobs = find_blobs(output, photo)
    assert sorted((round(b.x), round(b.y)) for b in blobs) == sorted(points)
    assert all(b.dark and 45 <= b.area <= 55 for b in blobs)
    x, y = points[0]
    black = paint_disc(photo, x, y, 12, 0.0)
    assert find_blobs(paint_disc(black, x, y, 4, 0.0), black) == [], "a black blob where the photo is black is its own"
    assert find_blobs(paint_disc(photo, x, y, 4, 0.1), photo) == [], "a dark grey blob is not clipped"
