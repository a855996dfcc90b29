<?php
declare(strict_types=1);

namespace Sample;

// Loaded through Composer's autoloader, so the page shows that the build ran `composer install`.
final class Greeting
{
    public static function text(): string
    {
        return 'hello from php';
    }
}
