"""Haskell on GHC 9: the contract, with a two-module build (the original's build failed)."""

from __future__ import annotations

from tests.lang_contract import Case, CompiledContract

HASKELL = Case(
    lang="haskell", commands=("ghc", "runghc"), main="main.hs",
    hello="import Greet (greeting)\n\nmain :: IO ()\nmain = putStrLn greeting\n",
    extra={"Greet.hs": 'module Greet (greeting) where\n\ngreeting :: String\n'
                       'greeting = "hello from Haskell"\n'},
    query='main = putStrLn "hello from Haskell"\n',
    hello_out="hello from Haskell\n",
    failing='main = error "broken on purpose"\n', failing_exit=1,
    failing_says="broken on purpose",
    compile_error="main = putStrLn undefinedName\n", error_says="undefinedName",
    loop='import Control.Concurrent (threadDelay)\nimport System.IO\n\n'
         'main = putStrLn "looping" >> hFlush stdout >> loop\n'
         '  where loop = threadDelay 1000000 >> loop\n',
    echo='import System.IO\n\nmain = mapM_ ask [0, 1 :: Int]\n'
         '  where ask i = do\n          putStr ("line " ++ show i ++ "? ")\n'
         '          hFlush stdout\n          l <- getLine\n'
         '          putStrLn ("got " ++ l)\n',
    once='import System.Exit\nimport System.IO\n\nmain = do\n  putStr "Name? "\n'
         '  hFlush stdout\n  name <- getLine\n  putStrLn ("hello " ++ name)\n'
         '  exitWith (ExitFailure 3)\n',
    timeout=300,
)


class TestHaskell(CompiledContract):
    case = HASKELL
