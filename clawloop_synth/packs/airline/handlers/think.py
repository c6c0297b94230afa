def invoke(state, thought):
    # Thinking changes nothing and returns nothing: the thought is only logged in the trace.
    return ""
