"""Batch scoring: files of reports (CSV, Parquet, stdin) in, diagnoses out, streaming; on Dask.

The only layer that knows files, Arrow and Dask. Most programs use `syncdx.score_file` or
`Model.score`; `Summary` is what a run reports.
"""

from syncdx._public import export as _export
from syncdx.batch._streaming import Summary

__all__ = ["Summary"]

_export(globals(), __all__, __name__)
