from ipnews.cli import main

main()
