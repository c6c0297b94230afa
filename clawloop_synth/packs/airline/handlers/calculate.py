ALLOWED = "0123456789+-*/(). "


def tokenize(text):
    tokens = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == " ":
            i += 1
        elif ch in "0123456789.":
            j = i
            while j < len(text) and text[j] in "0123456789.":
                j += 1
            number = text[i:j]
            if number.count(".") > 1 or number == ".":
                raise ValueError("invalid syntax")
            tokens.append(float(number) if "." in number else int(number))
            i = j
        elif text[i : i + 2] in ("**", "//"):
            tokens.append(text[i : i + 2])
            i += 2
        else:
            tokens.append(ch)
            i += 1
    return tokens


def peek(tokens, cursor):
    return tokens[cursor[0]] if cursor[0] < len(tokens) else None


def take(tokens, cursor):
    token = peek(tokens, cursor)
    cursor[0] += 1
    return token


def parse_sum(tokens, cursor):
    value = parse_product(tokens, cursor)
    while peek(tokens, cursor) in ("+", "-"):
        if take(tokens, cursor) == "+":
            value = value + parse_product(tokens, cursor)
        else:
            value = value - parse_product(tokens, cursor)
    return value


def parse_product(tokens, cursor):
    value = parse_unary(tokens, cursor)
    while peek(tokens, cursor) in ("*", "/", "//"):
        op = take(tokens, cursor)
        right = parse_unary(tokens, cursor)
        if op != "*" and right == 0:
            raise ValueError("division by zero")
        if op == "*":
            value = value * right
        elif op == "/":
            value = value / right
        else:
            value = value // right
    return value


def parse_unary(tokens, cursor):
    if peek(tokens, cursor) in ("+", "-"):
        sign = take(tokens, cursor)
        value = parse_unary(tokens, cursor)
        return -value if sign == "-" else value
    return parse_power(tokens, cursor)


def parse_power(tokens, cursor):
    base = parse_atom(tokens, cursor)
    if peek(tokens, cursor) == "**":
        take(tokens, cursor)
        exponent = parse_unary(tokens, cursor)
        # Bounded so that an expression cannot ask for a number with millions of digits.
        if abs(exponent) > 64 or abs(base) > 1e12:
            raise ValueError("number too large")
        return base**exponent
    return base


def parse_atom(tokens, cursor):
    token = take(tokens, cursor)
    if token == "(":
        value = parse_sum(tokens, cursor)
        if take(tokens, cursor) != ")":
            raise ValueError("invalid syntax")
        return value
    if token is None or isinstance(token, str):
        raise ValueError("invalid syntax")
    return token


def invoke(state, expression):
    for ch in expression:
        if ch not in ALLOWED:
            return "Error: invalid characters in expression"
    # The parser signals bad input with ValueError; the caller gets it as an error result.
    try:
        tokens = tokenize(expression)
        cursor = [0]
        value = parse_sum(tokens, cursor)
        if cursor[0] != len(tokens):
            raise ValueError("invalid syntax")
    except ValueError as exc:
        return "Error: " + str(exc)
    return str(round(float(value), 2))
