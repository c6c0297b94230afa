"""Export: accepted tasks as Hugging Face datasets and agent fine-tuning formats.

- :func:`export_tasks` (``stage``): a work directory's tasks as ``hf``, ``sft``, ``openai`` or ``rl``,
  with a dataset card; :func:`push_export` (``push``) sends an export to the Hub.
- :func:`split_tasks` (``split``): the seeded, cluster-stratified split.
- :func:`tasks_from_dataset` (``formats``): TaskSpecs back from an ``hf`` export.
- :func:`environment_class`, :class:`TaskEnvironment`, :func:`reward_func` (``rl``): the RL
  environment in the shape of TRL's ``environment_factory``.
"""

from clawloop_synth.export.formats import tasks_from_dataset
from clawloop_synth.export.push import push_export
from clawloop_synth.export.rl import TaskEnvironment, environment_class, environment_from_file, reward_func
from clawloop_synth.export.split import SPLITS, split_tasks
from clawloop_synth.export.stage import FORMATS, export_tasks

__all__ = [
    "FORMATS",
    "SPLITS",
    "TaskEnvironment",
    "environment_class",
    "environment_from_file",
    "export_tasks",
    "push_export",
    "reward_func",
    "split_tasks",
    "tasks_from_dataset",
]
