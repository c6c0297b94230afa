"""Learners trained on the tasks and played in SimEnv, behind one view of what an agent may see.

    from clawloop_synth.learn import PolicyLearner, play, task_views, train_runner
    learner = PolicyLearner()
    learner.train(task_views(train, "train"), train_runner(train))
    rollout = play(learner, held_out_task)          # sees task_view(task, "eval"): no reference
"""

from clawloop_synth.learn.policy import PolicyConfig, PolicyLearner
from clawloop_synth.learn.protocol import AgentEnv, Learner, TrainRunner, play, train_runner
from clawloop_synth.learn.view import Demonstration, TaskView, opaque_id, task_view, task_views

__all__ = [
    "AgentEnv",
    "Demonstration",
    "Learner",
    "PolicyConfig",
    "PolicyLearner",
    "TaskView",
    "TrainRunner",
    "opaque_id",
    "play",
    "task_view",
    "task_views",
    "train_runner",
]
