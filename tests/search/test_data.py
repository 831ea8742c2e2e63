"""search.data: the registry, the real Fashion-MNIST files, the split, the cache and the errors."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from nas_space import UnknownNameError
from search.data import (
    DEBIAN_FASHION,
    DataError,
    Dataset,
    cache_dir,
    list_datasets,
    load_dataset,
    read_idx,
    split_indices,
)

needs_fashion = pytest.mark.skipif(not DEBIAN_FASHION.is_dir(),
                                   reason="needs the apt package dataset-fashion-mnist")


def test_registry_lists_every_dataset() -> None:
    assert list_datasets() == ["cifar10", "digits", "fashion-mnist", "imagefolder", "mnist"]
    with pytest.raises(UnknownNameError, match="unknown dataset 'svhn'; valid: cifar10, digits"):
        load_dataset("svhn")


@needs_fashion
def test_fashion_mnist_shapes_and_label_counts(fashion: Dataset) -> None:
    assert fashion.train_x.shape == (50_000, 1, 28, 28)
    assert fashion.val_x.shape == fashion.test_x.shape == (10_000, 1, 28, 28)
    assert fashion.train_x.dtype == torch.uint8 and fashion.train_y.dtype == torch.int64
    assert (fashion.num_classes, fashion.in_channels, fashion.input_size) == (10, 1, 28)
    assert fashion.augment == "none"
    labels = torch.cat([fashion.train_y, fashion.val_y])
    assert labels.bincount().tolist() == [6000] * 10
    assert fashion.test_y.bincount().tolist() == [1000] * 10
    assert int(fashion.train_x.max()) == 255 and int(fashion.train_x.min()) == 0


@needs_fashion
def test_split_is_the_seeded_indices_of_the_original_training_set(fashion: Dataset) -> None:
    images = read_idx(DEBIAN_FASHION / "train-images-idx3-ubyte.gz")
    labels = read_idx(DEBIAN_FASHION / "train-labels-idx1-ubyte.gz").long()
    train, val = split_indices(60_000, 10_000, seed=0)
    assert torch.equal(fashion.val_x[:, 0], images[val]) and torch.equal(fashion.val_y, labels[val])
    assert torch.equal(fashion.train_x[:, 0], images[train])
    assert torch.equal(fashion.train_y, labels[train])


def test_split_indices_are_disjoint_complete_seeded_and_stable() -> None:
    train, val = split_indices(1000, 200, seed=3)
    assert len(val) == 200 and len(train) == 800
    assert torch.equal(torch.cat([train, val]).sort().values, torch.arange(1000))
    again_train, again_val = split_indices(1000, 200, seed=3)
    assert torch.equal(val, again_val) and torch.equal(train, again_train)
    assert not torch.equal(val, split_indices(1000, 200, seed=4)[1])
    # Pinned: a changed split would silently change every stored study's validation set.
    assert split_indices(60_000, 10_000, seed=0)[1][:5].tolist() == [36044, 10678, 57327,
                                                                      55074, 21567]


def test_a_prefix_of_the_validation_split_samples_every_class_of_a_sorted_folder() -> None:
    """A user's folder lists its images class by class; the rungs score the first
    val_images of the validation split, which must not be the first classes only."""
    labels = torch.arange(10).repeat_interleave(600)  # 6,000 images, sorted by class
    train, val = split_indices(len(labels), 1000, seed=0)
    assert torch.equal(train, train.sort().values)
    assert set(labels[val[:100]].tolist()) == set(range(10))
    assert len(set(labels[val.sort().values[:100]].tolist())) < 10


@needs_fashion
def test_another_seed_gives_another_split(fashion: Dataset) -> None:
    other = load_dataset("fashion-mnist", seed=1, val_size=5000)
    assert len(other.val_y) == 5000 and len(other.train_y) == 55_000
    assert not torch.equal(other.val_x[:100], fashion.val_x[:100])
    assert torch.equal(other.test_x, fashion.test_x)


def test_digits_load(digits: Dataset) -> None:
    assert digits.train_x.shape == (1200, 1, 8, 8) and digits.val_x.shape == (300, 1, 8, 8)
    assert digits.test_x.shape == (297, 1, 8, 8)
    assert digits.num_classes == 10 and int(digits.train_x.max()) == 255
    assert set(digits.test_y.tolist()) == set(range(10))


def test_image_size_resizes(digits: Dataset) -> None:
    big = load_dataset("digits", image_size=16)
    assert big.train_x.shape == (1200, 1, 16, 16) and big.input_size == 16
    assert torch.equal(big.train_y, digits.train_y)


def test_cache_is_written_once_and_a_damaged_entry_is_decoded_again(digits: Dataset) -> None:
    entries = sorted(cache_dir().glob("digits-*.pt"))
    assert len(entries) == 1
    data = torch.load(entries[0], weights_only=True)
    assert data["train_x"].sum() == torch.cat([digits.train_x, digits.val_x]).sum()
    entries[0].write_bytes(b"not a tensor file")
    again = load_dataset("digits")
    assert torch.equal(again.val_x, digits.val_x)
    assert torch.load(entries[0], weights_only=True)["train_x"].shape == (1500, 1, 8, 8)


def write_images(folder: Path, colors: dict[str, tuple[int, int, int]], n: int) -> None:
    for name, color in colors.items():
        (folder / name).mkdir(parents=True)
        for i in range(n):
            size = (20 + i, 12 + 2 * i)  # odd shapes: the loader must resize and crop
            Image.new("RGB", size, color).save(folder / name / f"{i}.png")


COLORS = {"blue": (0, 0, 200), "green": (0, 200, 0), "red": (200, 0, 0)}


def test_imagefolder_loads_resizes_and_labels_by_folder(tmp_path: Path) -> None:
    write_images(tmp_path, COLORS, 12)
    data = load_dataset("imagefolder", tmp_path, image_size=16, val_size=6)
    assert data.num_classes == 3 and data.in_channels == 3 and data.augment == "none"
    assert data.train_x.shape == (24, 3, 16, 16) and data.test_x.shape == (6, 3, 16, 16)
    x = torch.cat([data.train_x, data.val_x, data.test_x])
    y = torch.cat([data.train_y, data.val_y, data.test_y])
    for label, color in enumerate(COLORS.values()):  # classes in sorted folder order
        assert x[y == label].float().mean((0, 2, 3)).round().tolist() == list(color)


def test_imagefolder_images_keep_their_own_size_and_pixels(tmp_path: Path) -> None:
    """Without --image-size, 28x28 grey PNGs load as 1x28x28, pixel for pixel."""
    gen = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (2, 6, 28, 28), generator=gen, dtype=torch.uint8)
    for label in range(2):
        (tmp_path / f"c{label}").mkdir()
        for i in range(6):
            Image.fromarray(pixels[label, i].numpy(), mode="L").save(tmp_path / f"c{label}/{i}.png")
    data = load_dataset("imagefolder", tmp_path, val_size=2)
    assert (data.in_channels, data.input_size) == (1, 28)
    loaded = torch.cat([data.train_x, data.val_x, data.test_x])[:, 0]
    assert loaded.shape == (12, 28, 28)
    originals = {bytes(p.flatten().tolist()) for p in pixels.view(12, 28, 28)}
    assert {bytes(p.flatten().tolist()) for p in loaded} == originals
    assert load_dataset("imagefolder", tmp_path, val_size=2, image_size=32).input_size == 32


def test_augment_default_and_override(tmp_path: Path, digits: Dataset) -> None:
    write_images(tmp_path, COLORS, 4)
    assert load_dataset("imagefolder", tmp_path, val_size=2).augment == "none"
    assert load_dataset("digits", augment="crop").augment == "crop"
    with pytest.raises(ValueError, match="augment: must be one of none, crop, crop\\+flip"):
        load_dataset("digits", augment="flip")


def test_imagefolder_uses_train_and_test_folders_and_detects_grey(tmp_path: Path) -> None:
    grey = {"dark": (40, 40, 40), "light": (220, 220, 220)}
    write_images(tmp_path / "train", grey, 10)
    write_images(tmp_path / "test", grey, 3)
    data = load_dataset("imagefolder", tmp_path, image_size=8, val_size=4)
    assert data.in_channels == 1 and data.input_size == 8
    assert len(data.train_y) == 16 and len(data.val_y) == 4
    assert data.test_y.tolist() == [0, 0, 0, 1, 1, 1]


def test_imagefolder_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="imagefolder: no directory given; pass --data-root"):
        load_dataset("imagefolder")
    with pytest.raises(DataError, match="no such directory"):
        load_dataset("imagefolder", tmp_path / "nowhere")
    write_images(tmp_path, COLORS, 2)
    (tmp_path / "red" / "1.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match=r"imagefolder: cannot read .*1\.png"):
        load_dataset("imagefolder", tmp_path, val_size=1)


def fashion_copy(folder: Path) -> Path:
    folder.mkdir()
    for f in DEBIAN_FASHION.glob("*.gz"):
        shutil.copy(f, folder / f.name)
    return folder


def one_line(e: pytest.ExceptionInfo[DataError]) -> str:
    text = str(e.value)
    assert "\n" not in text and "Traceback" not in text
    return text


@needs_fashion
@pytest.mark.parametrize("damage", ["truncate", "garbage", "labels"])
def test_a_corrupted_idx_file_gives_a_one_line_error(tmp_path: Path, damage: str) -> None:
    root = fashion_copy(tmp_path / "fm")
    labels = root / "train-labels-idx1-ubyte.gz"
    if damage == "truncate":
        labels.write_bytes(labels.read_bytes()[:5000])
    elif damage == "garbage":
        labels.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4)
    else:  # valid gzip, a label out of range
        raw = bytearray(gzip.decompress(labels.read_bytes()))
        raw[100] = 77
        labels.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError) as e:
        load_dataset("fashion-mnist", root)
    text = one_line(e)
    assert "train-labels-idx1-ubyte.gz is corrupted" in text
    assert "dataset-fashion-mnist" in text and "--data-root" in text and "--download" in text


def test_a_missing_directory_gives_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(DataError) as e:
        load_dataset("fashion-mnist", tmp_path / "nowhere")
    assert one_line(e).startswith("fashion-mnist: no such directory")
    with pytest.raises(DataError) as e:
        load_dataset("fashion-mnist", tmp_path)
    assert "the IDX files are not in" in one_line(e)
    with pytest.raises(DataError, match=r"cifar10: cannot load from .*--data-root"):
        load_dataset("cifar10", tmp_path)


@needs_fashion
def test_mnist_reads_idx_files_in_torchvision_layout(tmp_path: Path, fashion: Dataset) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in DEBIAN_FASHION.glob("*.gz"):  # same file format; only the layout is under test
        (raw / f.name).symlink_to(f)
    data = load_dataset("mnist", tmp_path)
    assert data.name == "mnist" and torch.equal(data.val_y, fashion.val_y)


def test_bad_arguments_are_value_errors(digits: Dataset) -> None:
    with pytest.raises(ValueError, match=r"val_size: must be an integer in 1\.\.1499"):
        load_dataset("digits", val_size=1500)
    with pytest.raises(ValueError, match="image_size"):
        load_dataset("digits", image_size=0)
