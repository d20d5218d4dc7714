r"""Exports a trained workdir as a SavedModel with `embed` and `propagate` signatures,
or packed (--packed).

Example:
  python -m train.export --workdir=/tmp/tiny --export_dir=/tmp/tiny_savedmodel \
      --inference=renormalize=true,window=3

--inference sets test-time defaults stored with the export (the `inference`
section of its config, e.g. values tuned on a dev set; `keypoints.KEY=VALUE`
for points only); tracking flags still override them. With --retune (and no
--workdir) only the defaults of the existing export at --export_dir change:
  python -m train.export --retune --export_dir=/tmp/tiny_savedmodel \
      --inference=renormalize_floor=0.8,keypoints.scale=2
--fit_basis (with --retune) also stores the principal directions of the export's
features, fitted on unlabeled frames, so that --inference=feature_dims=K (or the
tracking flag --feature_dims) compares cells on K of them:
  python -m train.export --retune --export_dir=/tmp/tiny_savedmodel \
      --fit_basis=../shared/data/unlabeled/davis2016-train-256p --inference=feature_dims=32

--ensemble_workdirs adds more trained networks: the export tracks with all of
their features at once (each L2-normalized, concatenated; the pointer compares
frames by the mean of the networks' cosine similarities), e.g. the colorization
and MAST networks shipped as the default model (its MODEL_CARD.md):
  python -m train.export --workdir=/tmp/tiny --ensemble_workdirs=/tmp/tiny_mast \
      --export_dir=/tmp/tiny_ensemble
An ensemble export also has one signature per network, so a tracker that uses
its first N networks (`ensemble_members=N`, e.g. for keypoints) runs only those.
--from_export writes an existing export again in this version's format, same
weights and config (how the shipped default got its per-network signatures):
  python -m train.export --from_export=/tmp/tiny_ensemble --export_dir=/tmp/tiny_ensemble2

--packed writes a packed model instead of a SavedModel (colortrack.packing): its
config and a manifest in --export_dir, each network's weights (kernels in float16)
in the store `networks/` beside it, one file per network, shared by every packed model
there (how the shipped models are stored: the default's four networks include the
two single-network models'). colortrack loads it like a SavedModel export; other
TensorFlow tools need a SavedModel, which --from_export writes from it:
  python -m train.export --from_export=/tmp/tiny_ensemble --export_dir=/tmp/packed/tiny --packed
  python -m train.export --from_export=colortrack/pretrained/mast_cpu --export_dir=/tmp/mast_sm
--networks (with --from_export) picks the networks of the new export, in order: an
integer is a network of --from_export (0: its first), a path a training workdir; the
export's test-time defaults stay. E.g. the default with its fourth network replaced:
  python -m train.export --from_export=colortrack/pretrained/ensemble_cpu \
      --networks=0,1,2,/work/runs/accel_mast256_10k --export_dir=/tmp/ship/ensemble_cpu --packed

The export is written to a temp folder beside --export_dir, reloaded and
checked against the Keras model (finite, equal `embed`), then renamed into
place. --export_dir must be new, empty or an earlier export: a folder with
other files, a training workdir or a file is refused, never deleted.
"""

from absl import flags
from absl import logging

from colortrack.cli import app as cli_app  # first: keeps TensorFlow's load banners quiet
from colortrack import serving  # pylint: disable=g-bad-import-order
from colortrack.training import trainer

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir (config.json + checkpoints).")
_EXPORT_DIR = flags.DEFINE_string("export_dir", None, "Where to write the SavedModel.")
_INFERENCE = flags.DEFINE_list("inference", [], "KEY=VALUE test-time defaults stored with the "
                               "model (config.inference), e.g. renormalize=true,window=3.")
_RETUNE = flags.DEFINE_bool("retune", False, "Only store the --inference defaults in the "
                            "existing export at --export_dir (weights untouched).")
_ENSEMBLE_WORKDIRS = flags.DEFINE_list(
    "ensemble_workdirs", [], "More training workdirs whose networks track together with "
    "--workdir's (features concatenated; --workdir's test-time settings).")
_FIT_BASIS = flags.DEFINE_string(
    "fit_basis", None, "With --retune: videos / frame folders (comma-separated) on whose "
    "frames the principal directions of the features are fitted and stored with the export.")
_FROM_EXPORT = flags.DEFINE_string(
    "from_export", None, "Instead of --workdir: an existing colortrack export, written again "
    "in this version's format (e.g. an ensemble's per-network signatures), same weights and "
    "config (a feature basis and model card stay where they are: copy them).")
_PACKED = flags.DEFINE_bool(
    "packed", False, "Write a packed model (config + manifest; each network's weights, "
    "kernels in float16, once in the store `networks/` beside --export_dir) instead of a "
    "SavedModel.")
_NETWORKS = flags.DEFINE_list(
    "networks", [], "With --from_export: the new export's networks in order, each an index "
    "of --from_export's networks (0: its first) or a training workdir (default: all of them).")
_FIT_BASIS_DIRECTIONS = flags.DEFINE_integer(
    "fit_basis_directions", 0, "With --fit_basis: keep this many leading directions (0: all).",
    lower_bound=0)
_FIT_BASIS_FRAMES = flags.DEFINE_integer("fit_basis_frames", 200, "Frames sampled for "
                                         "--fit_basis, spread over the sources.", lower_bound=1)
flags.mark_flags_as_required(["export_dir"])


def main(argv):
  del argv
  if _RETUNE.value:
    if _WORKDIR.value or _ENSEMBLE_WORKDIRS.value:
      raise serving.ExportError("--retune changes an existing export: give --export_dir only")
    serving.check_retune_target(_EXPORT_DIR.value)
    if _FIT_BASIS.value:  # first: a feature_dims default needs the basis
      from colortrack.inference import basis_fitting  # pylint: disable=g-import-not-at-top
      energy = basis_fitting.fit_for_export(_EXPORT_DIR.value, _FIT_BASIS.value,
                                            _FIT_BASIS_FRAMES.value,
                                            _FIT_BASIS_DIRECTIONS.value)
      logging.info("%s: feature basis stored; the first 32 / 64 / 128 / 256 directions hold "
                   "%s of the features' energy", _EXPORT_DIR.value,
                   " / ".join(f"{energy[min(k, len(energy)) - 1]:.3f}"
                              for k in (32, 64, 128, 256)))
    config = serving.retune(_EXPORT_DIR.value, _INFERENCE.value)
    values = config.inference.to_dict()
    shown = [f"{k}={v}" for k, v in sorted(values.items()) if not isinstance(v, dict)]
    shown += [f"{k}.{name}={v}" for k, section in sorted(values.items())
              if isinstance(section, dict) for name, v in sorted(section.items()) if v is not None]
    logging.info("%s: test-time defaults now %s", _EXPORT_DIR.value, ", ".join(shown))
    return
  if _FIT_BASIS.value:
    raise serving.ExportError("--fit_basis goes with --retune (after the export is written)")
  if _FROM_EXPORT.value:
    if _WORKDIR.value or _ENSEMBLE_WORKDIRS.value or _INFERENCE.value:
      raise serving.ExportError("--from_export writes an export again as it is: give "
                                "--export_dir only (then --retune to change its defaults)")
    serving.check_export_dir(_EXPORT_DIR.value)
    if _NETWORKS.value:
      model, config, ensemble = serving.select_networks(_FROM_EXPORT.value, _NETWORKS.value)
      _, max_diff = serving.export(model, _EXPORT_DIR.value, config, ensemble,
                                   packed=_PACKED.value)
      logging.info("exported networks %s as %s (%d networks, %.1f MiB); reloaded embed == "
                   "Keras model (max |diff| %.2g)", ",".join(_NETWORKS.value), _EXPORT_DIR.value,
                   1 + len(ensemble), serving.directory_size_bytes(_EXPORT_DIR.value) / 2**20,
                   max_diff)
      return
    model, config, ensemble = serving.restore_export(_FROM_EXPORT.value)
    serving.export(model, _EXPORT_DIR.value, config, ensemble, packed=_PACKED.value)
    # The graph is traced again by this version's code: it must compute what the old did
    # (packed: with float16 weights, to PACKED_TOLERANCE).
    tolerance = serving.PACKED_TOLERANCE if _PACKED.value else 1e-4
    max_diff = serving.embed_difference(_FROM_EXPORT.value, _EXPORT_DIR.value)
    if not max_diff <= tolerance:  # also false for NaN
      raise serving.ExportError(f"{_EXPORT_DIR.value}: its embed differs from "
                                f"{_FROM_EXPORT.value}'s by {max_diff:g}; do not use it")
    logging.info("exported %s again as %s (%.1f MiB); embed == the original's (max |diff| "
                 "%.2g)", _FROM_EXPORT.value, _EXPORT_DIR.value,
                 serving.directory_size_bytes(_EXPORT_DIR.value) / 2**20, max_diff)
    return
  if _NETWORKS.value:
    raise serving.ExportError("--networks picks networks of --from_export: give it too")
  if not _WORKDIR.value:
    raise serving.ExportError("--workdir is required (or --retune to change an export's defaults)")
  serving.check_export_dir(_EXPORT_DIR.value)
  config = serving.with_inference_defaults(trainer.load_config(_WORKDIR.value),
                                           _INFERENCE.value)
  output_stride = config.inference.get("output_stride") or None
  model = trainer.restore_model(_WORKDIR.value, output_stride=output_stride)
  ensemble = [(trainer.restore_model(w, output_stride=output_stride), trainer.load_config(w))
              for w in _ENSEMBLE_WORKDIRS.value]
  _, max_diff = serving.export(model, _EXPORT_DIR.value, config, ensemble,
                               packed=_PACKED.value)
  size_mb = serving.directory_size_bytes(_EXPORT_DIR.value) / 2**20
  logging.info("exported %s (%.1f MiB); reloaded embed == Keras model (max |diff| %.2g)",
               _EXPORT_DIR.value, size_mb, max_diff)


def run():
  """Console entry point (pyproject.toml [project.scripts])."""
  cli_app.run(main)


if __name__ == "__main__":
  run()
