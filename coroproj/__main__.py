from coroproj.cli import entry_point

entry_point()
