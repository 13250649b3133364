"""Golden transcripts recorded by real runners, and the command that re-records them."""
