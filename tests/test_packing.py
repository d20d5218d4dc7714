"""Packed models: each network stored once in float16, loaded as exports are, damage refused."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from colortrack import errors
from colortrack import packing
from colortrack import pretrained
from colortrack import serving
from colortrack.configs import mast_pair
from colortrack.inference import embedder as embedder_lib
from colortrack.inference import propagation
from colortrack.inference import trackers
from colortrack.training import trainer
from colortrack.utils import files
from tests import testing_utils

FRAMES = np.random.default_rng(1).integers(0, 256, size=(2, 37, 50, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def networks(tiny_workdir):
  """(trained tiny model, its config, an untrained tiny MAST network and its config).

  The untrained network's weights are seeded. Its L2-normalized features move by 1.2e-3 to
  2.8e-3 in float16 with the draw and the CPU (a PACKED_TOLERANCE of 2e-3 failed the pair's
  export now and then, in `make test` and in CI); a test must not depend on the draw."""
  keras.utils.set_random_seed(0)
  return (trainer.restore_model(tiny_workdir), trainer.load_config(tiny_workdir),
          trainer.build_model_from_config(mast_pair.get_config("tiny")),
          mast_pair.get_config("tiny"))


def store_files(models_dir):
  # Without the record of what colortrack wrote (files.WRITTEN_RECORD): the store holds one
  # where no folder above it has one, as under a fresh /tmp.
  return sorted(name for name in os.listdir(models_dir / packing.STORE_NAME)
                if name != files.WRITTEN_RECORD)


def test_packed_export_tracks_as_the_savedmodel_and_stores_each_network_once(networks,
                                                                             tmp_path):
  model, config, mast_model, mast_config = networks
  _, max_diff = serving.export(model, str(tmp_path / "one"), config, packed=True)
  assert max_diff <= serving.PACKED_TOLERANCE
  serving.export(model, str(tmp_path / "saved"), config)
  packed = embedder_lib.load(str(tmp_path / "one"))
  saved = embedder_lib.load(str(tmp_path / "saved"))
  assert packed.description.startswith("packed export")
  assert packed.stride == saved.stride
  assert np.abs(packed(FRAMES) - saved(FRAMES)).max() <= serving.PACKED_TOLERANCE
  assert sorted(name for name in os.listdir(tmp_path / "one") if not name.startswith(".")) == [
      serving.CONFIG_NAME, packing.MANIFEST_NAME]  # the weights live in the store
  # Kernels in float16 (half their float32 bytes), vectors (BatchNorm, biases) in float32.
  (name,) = store_files(tmp_path)
  with np.load(tmp_path / packing.STORE_NAME / name) as data:
    assert len(data.files) == len(model.weights)
    assert {(data[key].ndim > 1, data[key].dtype.name) for key in data.files} == {
        (True, "float16"), (False, "float32")}

  # An ensemble with the same first network: one more file, not two.
  serving.export(model, str(tmp_path / "pair"), config, [(mast_model, mast_config)], packed=True)
  assert len(store_files(tmp_path)) == 2
  assert packing.network_paths(str(tmp_path / "pair"))[0] == packing.network_paths(
      str(tmp_path / "one"))[0]
  assert packing.referenced_files(str(tmp_path)) == set(store_files(tmp_path))
  pair = embedder_lib.load(str(tmp_path / "pair"))
  assert pair.network_dims == tuple(serving.module_for(
      model, config, [(mast_model, mast_config)]).member_dims())
  assert len(pair._network_fns) == 2  # pylint: disable=protected-access
  # Its first network alone (its own function, unit vectors) is the packed single's features
  # normalized, as for a SavedModel ensemble.
  single = packed(FRAMES)
  np.testing.assert_allclose(pair(FRAMES, networks=1),
                             single / np.linalg.norm(single, axis=-1, keepdims=True), atol=1e-5)
  # A packed export is replaced by the next export to its folder, as a SavedModel is.
  serving.export(model, str(tmp_path / "one"), config, packed=True)
  assert len(store_files(tmp_path)) == 2


def test_packed_model_refuses_damaged_missing_or_foreign_network_files(networks, tmp_path):
  model, config, _, _ = networks
  target = str(tmp_path / "one")
  serving.export(model, target, config, packed=True)
  (path,) = packing.network_paths(target)
  good = open(path, "rb").read()
  fingerprint = embedder_lib.load(target).fingerprint

  with np.load(path) as data:
    arrays = {key: data[key] for key in data.files}
  arrays["weights/w0000"] = arrays["weights/w0000"] + np.float16(1)
  with open(path, "wb") as f:
    np.savez(f, **arrays)
  with pytest.raises(embedder_lib.ModelLoadError, match="contents differ from what the manifest"):
    embedder_lib.load(target)
  for damage, message in [(b"\x00garbage", "unreadable network file"),
                          (None, "network file missing")]:
    os.remove(path)
    if damage is not None:
      open(path, "wb").write(damage)
    with pytest.raises(embedder_lib.ModelLoadError, match=message) as raised:
      embedder_lib.load(target)
    assert os.path.basename(path) in str(raised.value)

  # A file of that name that is not this network is never overwritten: the export refuses.
  open(path, "wb").write(b"the user's file")
  with pytest.raises(packing.PackError, match="exists with other contents"):
    serving.export(model, str(tmp_path / "two"), config, packed=True)
  assert open(path, "rb").read() == b"the user's file"
  assert not os.path.exists(tmp_path / "two")

  open(path, "wb").write(good)
  assert embedder_lib.load(target).fingerprint == fingerprint
  with open(os.path.join(target, packing.MANIFEST_NAME), "w") as f:
    f.write('{"format": 1, "store": "/elsewhere", "networks": []}')
  with pytest.raises(embedder_lib.ModelLoadError, match="not a colortrack manifest"):
    embedder_lib.load(target)


def test_packed_export_refuses_a_loaded_weight_off_by_less_than_float16s_bound(
    networks, tmp_path, monkeypatch):
  """The export check compares with the stored weights to 1e-4, not only with the float32
  network to PACKED_TOLERANCE: a kernel loaded 1% off (moving the features by less
  than that bound) is refused, nothing is written, and the Keras model keeps its float32
  weights (the check rounds them to float16 only while it runs)."""
  model, config, _, _ = networks
  load_weights = packing.load_weights
  weights_before = [np.array(v.numpy()) for v in model.weights]

  def load_one_kernel_off(folder, models):
    load_weights(folder, models)
    kernel = next(v for v in models[0].weights if len(v.shape) > 1)
    kernel.assign(kernel.numpy() * 1.01)

  monkeypatch.setattr(packing, "load_weights", load_one_kernel_off)
  with pytest.raises(serving.ExportError, match="with the stored weights by") as raised:
    serving.export(model, str(tmp_path / "one"), config, packed=True)
  off_by = float(str(raised.value).split(" by ")[1].split(" ")[0])
  assert 1e-4 < off_by < serving.PACKED_TOLERANCE
  assert not os.path.exists(tmp_path / "one")
  for variable, before in zip(model.weights, weights_before):
    np.testing.assert_array_equal(variable.numpy(), before)


def test_from_export_turns_a_packed_model_into_a_savedmodel_and_back(networks, tmp_path):
  model, config, mast_model, mast_config = networks
  packed_dir = str(tmp_path / "models" / "pair")
  serving.export(model, packed_dir, config, [(mast_model, mast_config)], packed=True)
  saved_dir = str(tmp_path / "saved")
  result = subprocess.run(
      [sys.executable, "-m", "train.export", f"--from_export={packed_dir}",
       f"--export_dir={saved_dir}"], cwd=testing_utils.REPO_ROOT, capture_output=True,
      text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert os.path.isfile(os.path.join(saved_dir, "saved_model.pb"))
  # The SavedModel holds the packed weights (float16 values in float32): the same features.
  assert serving.embed_difference(packed_dir, saved_dir) < 1e-5
  again = str(tmp_path / "models" / "again")
  restored, restored_config, members = serving.restore_export(saved_dir)
  serving.export(restored, again, restored_config, members, packed=True)
  assert serving.embed_difference(packed_dir, again) < 1e-5
  assert len(store_files(tmp_path / "models")) == 2  # the same two networks, stored once


def test_network_precision_bfloat16_for_packed_exports_and_workdirs_not_savedmodels(
    networks, tiny_workdir, tmp_path):
  model, config, _, _ = networks
  serving.export(model, str(tmp_path / "packed"), config, packed=True)
  serving.export(model, str(tmp_path / "saved"), config)
  exact = embedder_lib.load(str(tmp_path / "packed"), network_precision="float32")
  for path in (str(tmp_path / "packed"), tiny_workdir):
    fast = embedder_lib.load(path, network_precision="bfloat16")
    assert fast.network_precision == "bfloat16"
    a, b = exact(FRAMES), fast(FRAMES)
    # bfloat16 keeps 8 bits of mantissa: unit features move, but stay close in direction.
    cosine = np.sum(a * b, -1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    assert 0.99 < cosine.min() and not np.array_equal(a, b)
  # "auto" is bfloat16 exactly where the pointer's "auto" is (the CPU's instructions).
  expected = "bfloat16" if propagation.bfloat16_is_fast() else "float32"
  assert embedder_lib.load(str(tmp_path / "packed"), network_precision="auto"
                           ).network_precision == expected
  # A SavedModel runs as exported: asked for bfloat16 it is one line, "auto" is float32.
  with pytest.raises(embedder_lib.ModelLoadError, match="export it packed"):
    embedder_lib.load(str(tmp_path / "saved"), network_precision="bfloat16")
  assert embedder_lib.load(str(tmp_path / "saved"), network_precision="auto"
                           ).network_precision == "float32"
  # The tracker's record says what ran; a bad value is a setting error before any loading.
  tracker = trackers.make_tracker("model", str(tmp_path / "packed"),
                                  {"network_precision": "bfloat16"})
  assert tracker.settings["network_precision"] == "bfloat16"
  with pytest.raises(errors.UserError, match="network_precision='half'"):
    trackers.make_tracker("model", str(tmp_path / "packed"), {"network_precision": "half"})


def test_shipped_models_are_packed_and_store_each_network_once():
  root = pretrained.DIRECTORY
  models = [name for name in sorted(os.listdir(root))
            if os.path.isfile(os.path.join(root, name, serving.CONFIG_NAME))]
  assert {"ensemble_cpu", "mast_cpu", "mast_crop256", "vondrick_cpu"} <= set(models)
  for name in models:
    assert packing.is_packed(os.path.join(root, name)), name
  assert not [os.path.join(folder, f) for folder, _, names in os.walk(root) for f in names
              if f in ("saved_model.pb", "variables.index")]
  stored = sorted(os.listdir(os.path.join(root, packing.STORE_NAME)))
  assert set(stored) == packing.referenced_files(root)  # none missing, none left over
  # Stored once: the default's four networks include the single-network models'.
  default = set(map(os.path.basename, packing.network_paths(pretrained.DEFAULT_MODEL)))
  singles = [set(map(os.path.basename, packing.network_paths(os.path.join(root, name))))
             for name in ("vondrick_cpu", "mast_cpu", "mast_crop256")]
  assert len(default) == 4 and all(single <= default for single in singles)
  assert len(stored) == 4


def test_select_networks_reorders_drops_and_adds_workdirs(networks, tiny_workdir, tmp_path):
  model, config, mast_model, mast_config = networks
  pair_dir = str(tmp_path / "pair")
  serving.export(model, pair_dir, config, [(mast_model, mast_config)], packed=True)
  pair = embedder_lib.load(pair_dir)
  # The pair's networks swapped: the new first network is the old second, and the export's
  # test-time defaults stay.
  first, first_config, rest = serving.select_networks(pair_dir, ["1", "0"])
  assert first_config.method == "mast" and [c.method for _, c in rest] == [config.method]
  assert first_config.inference.to_dict() == pair.config.inference.to_dict()
  swapped_dir = str(tmp_path / "swapped")
  serving.export(first, swapped_dir, first_config, rest, packed=True)
  swapped = embedder_lib.load(swapped_dir)
  width = pair.network_dims[0]
  np.testing.assert_allclose(swapped(FRAMES)[..., -width:], pair(FRAMES)[..., :width], atol=1e-6)
  assert len(store_files(tmp_path)) == 2  # the same two networks
  # A workdir adds its trained network (float32 until packed again: within the tolerance).
  model_again, config_again, added = serving.select_networks(pair_dir, ["0", tiny_workdir])
  assert len(added) == 1
  np.testing.assert_allclose(added[0][0].weights[0].numpy(), model.weights[0].numpy())
  assert np.abs(model_again.weights[0].numpy() - model.weights[0].numpy()).max() < 1e-3
  with pytest.raises(serving.ExportError, match="has networks 0..1, not 5"):
    serving.select_networks(pair_dir, ["5"])
  with pytest.raises(serving.ExportError, match="training workdir"):
    serving.select_networks(pair_dir, [str(tmp_path / "no_such_workdir")])


def test_fit_basis_keeps_the_leading_directions_asked_for(networks, tmp_path):
  from colortrack.inference import basis_fitting  # pylint: disable=g-import-not-at-top
  from colortrack.inference import feature_basis  # pylint: disable=g-import-not-at-top
  model, config, _, _ = networks
  target = str(tmp_path / "one")
  serving.export(model, target, config, packed=True)
  videos = tmp_path / "videos"
  videos.mkdir()
  testing_utils.write_tiny_videos(str(videos))
  basis_fitting.fit_for_export(target, str(videos), num_frames=4)
  full = feature_basis.load(target)[0]
  assert full.shape[0] == full.shape[1]  # [D, D]: every direction
  energy = basis_fitting.fit_for_export(target, str(videos), num_frames=4, directions=3)
  kept = feature_basis.load(target)[0]
  assert kept.shape == (full.shape[0], 3) and energy.shape == (3,)
  np.testing.assert_allclose(np.abs(kept), np.abs(full[:, :3]), atol=1e-5)  # signs may flip
