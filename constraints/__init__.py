"""Timing targets, extra pins and nextpnr seed per board: one module a board, read by :mod:`gic.hw.boards.build`."""
