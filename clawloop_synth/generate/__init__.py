"""Task generators (procedural, LLM, DSPy) and the generate stage that gates their candidates."""
