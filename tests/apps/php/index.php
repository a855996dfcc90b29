<?php
// The front controller of the PHP sample app: .htaccess routes every path here.
//   /any/path         hello from php and the requested path
//   /?write=NAME      writes uploads/NAME (the `content` parameter, else a default text)
//   /?read=NAME       reads uploads/NAME back
// uploads/ is the app's writable directory (a writable path of the site in production).
declare(strict_types=1);

require __DIR__ . '/vendor/autoload.php';

use Sample\Greeting;

header('Content-Type: text/plain; charset=utf-8');

const UPLOADS = __DIR__ . '/uploads';
const MAX_CONTENT_BYTES = 65536;

function answer(int $status, string $body): never
{
    http_response_code($status);
    echo $body, "\n";
    exit;
}

// A plain file name only: no slash, no dot other than one ".txt" suffix, so a name can neither
// leave uploads/ nor become something Apache would run or obey (.php, .htaccess).
function upload_path(mixed $name): string
{
    if (!is_string($name) || preg_match('/\A[A-Za-z0-9_-]{1,64}(\.txt)?\z/', $name) !== 1) {
        answer(400, 'invalid name: use 1 to 64 letters, digits, "-" or "_", optionally ending in ".txt"');
    }
    return UPLOADS . '/' . $name;
}

if (isset($_GET['write'])) {
    $path = upload_path($_GET['write']);
    $content = $_GET['content'] ?? 'written by the php sample app';
    if (!is_string($content) || strlen($content) > MAX_CONTENT_BYTES) {
        answer(400, 'invalid content: at most ' . MAX_CONTENT_BYTES . ' bytes');
    }
    if (@file_put_contents($path, $content, LOCK_EX) === false) {
        answer(500, 'could not write uploads/' . basename($path) . ': ' . (error_get_last()['message'] ?? 'unknown error'));
    }
    answer(200, 'wrote uploads/' . basename($path));
}

if (isset($_GET['read'])) {
    $path = upload_path($_GET['read']);
    if (!is_file($path)) {
        answer(404, 'no such file: uploads/' . basename($path));
    }
    answer(200, (string) file_get_contents($path));
}

$requested = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);
answer(200, Greeting::text() . ' at ' . (is_string($requested) ? $requested : '/') . ' (PHP ' . PHP_VERSION . ')');
