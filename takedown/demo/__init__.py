"""What ``takedown demo`` needs besides its loop: the check of its end state against the world's
expectations, Prefect's logs kept in the demo folder, and the files that let people look at the
results afterwards."""
