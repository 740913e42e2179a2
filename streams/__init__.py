"""The faust application and its agents. Agents stay thin: decode, call a pure function, emit."""
