"""Small model files the tests write, kept in one place."""

#: The first line of every syncdx YAML model.
YAML_HEAD = "syncdx_model: 1\n"
#: The rest of the smallest useful model: one cause, one noisy-OR observation.
YAML_BODY = """\
causes:
  - {id: c, prior: 0.1, assumption: a}
observations:
  - id: o
    question: Seen?
    cost: 1
    assumption: a
    noisy_or:
      leak: {p: 0.1, assumption: a}
      links:
        c: {p: 0.5, assumption: a}
"""
#: The whole smallest model.
TINY_YAML = YAML_HEAD + YAML_BODY
