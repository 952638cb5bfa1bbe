"""viz: everything that shows: graph drawings, step-by-step traces and the command line."""
