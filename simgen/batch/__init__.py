"""Batch runs: scene files x sweep points x seeds -> jobs, rendered by many workers into one dataset.

- :mod:`simgen.batch.jobs`: expansion into :class:`~simgen.batch.jobs.Job` s with stable ids.
- :mod:`simgen.batch.plan`: GPU detection and worker slots (one per GPU, or CPU workers with thread counts).
- :mod:`simgen.batch.worker`: the worker process; it renders a job with :func:`simgen.pipeline.render_scene`
  (the code path of ``simgen render``) into a private job folder ``OUT/.job-<id>``.
- :mod:`simgen.batch.store`: integrity: the run lock, checksums, the commit of a job folder into the dataset
  (:func:`simgen.io.commit.commit_sequence`, done by the driver process only) and the ``--resume`` check.
- :mod:`simgen.batch.local` and :mod:`simgen.batch.ray_backend`: the two backends; :mod:`simgen.batch.report`:
  the run report (``OUT/batch_report.json`` and a section of ``OUT/index.html``).

Nothing here imports bpy; only worker processes do, through :mod:`simgen.pipeline`.
"""
