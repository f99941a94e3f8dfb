"""Batch runs: many articles, bounded concurrency, one durable record per article.

`runner` holds the public entry points (`run_batch`, `arun_batch`, `estimate`, results
files); `files` the append-only results file and the progress bar; `_inputs` and `_tasks`
are private (reading inputs, what each task does per article).
"""

from assistant.batch.runner import (
    TASKS,
    BatchInput,
    BatchRecord,
    BatchRunner,
    BatchSummary,
    BriefItem,
    FileState,
    RecordError,
    Task,
    TaskInput,
    arun_batch,
    estimate,
    get_task,
    needs_run,
    read_inputs,
    read_results,
    run_batch,
)

__all__ = ['TASKS', 'BatchInput', 'BatchRecord', 'BatchRunner', 'BatchSummary', 'BriefItem', 'FileState', 'RecordError', 'Task', 'TaskInput', 'arun_batch', 'estimate', 'get_task', 'needs_run', 'read_inputs', 'read_results', 'run_batch']
