"""Tools of the code suite: `python(code)` in the run's shared session and `code(task, context)`,
whose code the run's model writes (the model tools ask; `--model_type scripted`: the "tools" replies).

The interpreter (its workspace, backend, timeout and Python) comes from the context:
`SuiteContext.interpreter()`, set up from `--code_backend`, `--code_timeout`,
`--python_interpreter` and `--workspace` on the command line.
"""


def get_tools(context):
    interpreter = context.interpreter()
    return [interpreter.python_tool(), interpreter.code_tool(context.model)]
