"""Solve result → what a person or a program reads: the terminal table, JSON, PNG grids, npz."""
from .output import solution_json, solution_text, write_outputs

__all__ = ["solution_json", "solution_text", "write_outputs"]
