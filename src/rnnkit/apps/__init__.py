"""Applications behind the command line: demo, task training, text sampling."""
