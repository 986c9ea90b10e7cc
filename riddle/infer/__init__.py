"""Factor graph → compiled objective (`objective`) → batched annealed VI (`advi`, `schedule`) →
statistics over restarts (`stats`); `solve` runs the whole way."""
