"""Reading a line: several characters written in one go, as ink or as a picture, become text.

Segmentation and recognition are one search (`reader.LineReader`): the line is cut into more pieces than it
has characters (`segment`), every run of a few consecutive pieces is shown to the model as a candidate
character, and the best path through the pieces (`search`) is the reading. Any model whose labels are single
characters can read lines; its metadata says so (`inkrec.runtime.metadata.reads_lines`).
"""
