-- The edge's routing, inside nginx: hostname -> route, kept in a shared dictionary that the
-- platform updates through the control socket (no reload per change) and that is loaded from
-- the routes file when nginx starts or reloads.
--
-- A route is one line: "<hostname> <status> <flags> <site group> <upstream>[,<upstream>...]"
--   status: live, starting, stopped, suspended, verify
--   flags:  "-" or letters: h = redirect HTTP to HTTPS, s = send HSTS
-- Verification tokens for custom domains are stored under "verify:<hostname>".
--
-- Every address belongs to one site at a time ("peer:<address>" -> site group, the site's uuid):
-- the site whose route line last named it. Docker hands a freed container address to the next
-- container, which may be another site's, so a route is served only by the addresses its own
-- site holds now; a stale route of a site that lost (or never had) an address answers the
-- starting page instead of another site's content.
local balancer = require("ngx.balancer")

local _M = {}
local routes = ngx.shared.edge_routes
local pages = {}

local function parse(value)
    local status, flags, group, upstreams = value:match("^(%S+) (%S+) (%S+) ?(%S*)$")
    return status, flags, group, upstreams
end

local function store(key, value)
    local ok, err = routes:safe_set(key, value)
    if not ok then
        ngx.log(ngx.ERR, "edge routes: cannot store ", key, ": ", err)
    end
    return ok
end

-- A route line, and the claim of its site on the addresses it names.
local function set_line(line)
    local hostname, value = line:match("^(%S+) (.+)$")
    if not hostname then
        return false
    end
    if not hostname:find("^verify:") then
        local status, flags, group, upstreams = parse(value)
        if not status then
            return false
        end
        for peer in upstreams:gmatch("[^,]+") do
            if not store("peer:" .. peer, group) then
                return false
            end
        end
    end
    return store(hostname, value)
end

-- Make the table equal the routes file (start, reload): set every line, then drop what the file
-- no longer has. Never emptied on the way, so a reload does not answer 404 for a moment.
function _M.load(path, pages_dir)
    for _, name in ipairs({"404", "stopped", "suspended", "starting"}) do
        local f = io.open(pages_dir .. "/" .. name .. ".html", "r")
        if f then
            pages[name] = f:read("*a")
            f:close()
        end
    end
    local f = io.open(path, "r")
    if not f then
        return
    end
    local seen, owners = {}, {}
    for line in f:lines() do
        local hostname, value = line:match("^(%S+) (.+)$")
        if hostname and set_line(line) then
            seen[hostname] = true
            if not hostname:find("^verify:") then
                local _, _, group, upstreams = parse(value)
                for peer in upstreams:gmatch("[^,]+") do
                    -- The platform never writes one address under two sites; if a file does,
                    -- neither site gets it.
                    owners[peer] = (owners[peer] == nil or owners[peer] == group) and group or false
                end
            end
        end
    end
    f:close()
    for peer, group in pairs(owners) do
        seen["peer:" .. peer] = true
        if group then
            store("peer:" .. peer, group)
        else
            routes:delete("peer:" .. peer)
        end
    end
    for _, key in ipairs(routes:get_keys(0)) do
        if not seen[key] then
            routes:delete(key)
        end
    end
end

local function page(status_code, name)
    ngx.status = status_code
    ngx.header["Content-Type"] = "text/html; charset=utf-8"
    ngx.header["Cache-Control"] = "no-store"
    ngx.print(pages[name] or name)
    return ngx.exit(status_code)
end

-- access phase: find the route, answer status pages, pick the upstreams for the balancer.
function _M.route()
    local value = routes:get(ngx.var.host)
    if not value then
        return page(404, "404")
    end
    local status, flags, group, upstreams = parse(value)
    ngx.var.site_group = group
    if status == "live" then
        if flags:find("h", 1, true) and ngx.var.scheme == "http" then
            return ngx.redirect("https://" .. ngx.var.host .. ngx.var.https_suffix .. ngx.var.request_uri, 301)
        end
        if flags:find("s", 1, true) and ngx.var.scheme == "https" then
            ngx.header["Strict-Transport-Security"] = "max-age=31536000"
        end
        local peers = {}
        for peer in upstreams:gmatch("[^,]+") do
            if routes:get("peer:" .. peer) == group then
                peers[#peers + 1] = peer
            end
        end
        if #peers == 0 then
            return page(503, "starting")
        end
        ngx.ctx.peers = peers
        return
    end
    if status == "stopped" then
        return page(503, "stopped")
    elseif status == "suspended" then
        return page(503, "suspended")
    elseif status == "starting" then
        return page(503, "starting")
    end
    return page(404, "404")
end

-- balancer phase: one of the route's peers; on a failed connection, the next one.
function _M.balance()
    local peers = ngx.ctx.peers
    if not peers then
        return ngx.exit(502)
    end
    local tries = ngx.ctx.tries or 0
    ngx.ctx.tries = tries + 1
    local start = ngx.ctx.start or math.random(#peers)
    ngx.ctx.start = start
    local peer = peers[((start + tries - 1) % #peers) + 1]
    local host, port = peer:match("^([%d.]+):(%d+)$")
    if tries == 0 and #peers > 1 then
        balancer.set_more_tries(#peers - 1)
    end
    local ok, err = balancer.set_current_peer(host, tonumber(port))
    if not ok then
        ngx.log(ngx.ERR, "edge: bad peer ", peer, ": ", err)
        return ngx.exit(502)
    end
end

-- The domain verification token of this hostname, served at /.well-known/hosting-verification.
function _M.verification()
    local token = routes:get("verify:" .. ngx.var.host)
    if not token then
        return ngx.exit(404)
    end
    ngx.header["Content-Type"] = "text/plain"
    ngx.print(token)
end

-- control socket: PUT lines "<hostname> <route>", DELETE lines "<hostname>" (or "verify:<hostname>").
function _M.control()
    ngx.req.read_body()
    local body = ngx.req.get_body_data() or ""
    local method = ngx.req.get_method()
    local count = 0
    for line in body:gmatch("[^\n]+") do
        if method == "PUT" then
            if not set_line(line) then
                return ngx.exit(500)
            end
        elseif method == "DELETE" then
            routes:delete(line)
        else
            return ngx.exit(405)
        end
        count = count + 1
    end
    ngx.say(count)
end

return _M
