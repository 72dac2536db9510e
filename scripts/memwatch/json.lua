-- memwatch.json: JSON through the jansson library (bound in memwatch.core).
-- encode(value [, sort_keys]): integers stay exact, invalid UTF-8 bytes become
-- U+FFFD, so the text is always valid JSON. decode(text) -> value | nil, message.
local core = require "memwatch.core"

return {
    encode = core.json_encode,
    decode = core.json_decode,
}
