def invoke(state, user_id):
    users = state["users"]
    if user_id not in users:
        return "Error: user not found"
    return users[user_id]
