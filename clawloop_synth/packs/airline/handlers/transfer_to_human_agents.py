def invoke(state, summary):
    return "Transfer successful"
