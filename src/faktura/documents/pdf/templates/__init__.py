"""Typst templates of printed documents (a package so wheels ship the .typ files)."""
