admins = { "admin@home.arpa" }
modules_enabled = { "roster"; "saslauth"; "tls"; "dialback"; "disco"; "carbons"; "mam"; "ping" }
c2s_require_encryption = true
s2s_secure_auth = true
VirtualHost "home.arpa"
